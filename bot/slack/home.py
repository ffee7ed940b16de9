"""App Home: what the user may see, from the audit trail and the queue, published with views.publish."""

from __future__ import annotations

from bot.cards.home import build_home
from bot.models import Requester
from bot.queue import JobRecord
from bot.services import Services
from bot.slack.queue_views import requesters, to_history_entries, visible_status
from bot.slack.watches import home_watches, unwatch_button

_RECENT = 10


async def publish_home(svc: Services, user_id: str) -> None:
    """Recent checks and the queues, each scoped to what this user may check (the same decision as
    starting one); what is left out is counted, never named."""
    viewer = Requester(user_id=user_id, channel_id="")  # App Home has no channel: only user rules apply
    may_see = svc.may_see(viewer)
    # Recent checks = jobs named by recent audit events, newest first, that this user may see.
    job_ids = list(dict.fromkeys(e.job_id for e in reversed(await svc.audit.tail(300)) if e.job_id))
    recent: list[JobRecord] = []
    hidden = 0
    for job_id in job_ids:
        job = await svc.queue.get(job_id)
        if job is None or job.report is None:
            continue
        if not await may_see(job.target):
            hidden += 1
        elif len(recent) < _RECENT:
            recent.append(job)
    queues, hidden_queued = await visible_status(await svc.queue.status(), may_see)
    view = build_home(
        to_history_entries(recent),
        queues,
        user_id,
        max_targets=svc.settings.max_targets,
        hidden_recent=hidden,
        hidden_queued=hidden_queued,
        names=await svc.names.of(requesters(queues)),
        watches=await home_watches(svc, user_id, may_see),
    )
    await svc.slack.views_publish(user_id=user_id, view=view)


async def unwatch_and_refresh(svc: Services, user_id: str, watch_id: str) -> None:
    """App Home's Unwatch button: remove the watch (when the presser may), then redraw the tab."""
    await unwatch_button(svc, user_id, watch_id)
    await publish_home(svc, user_id)
