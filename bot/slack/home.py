"""App Home: what the user may see, from the audit trail and the queue, published with views.publish."""

from __future__ import annotations

from bot.cards.home import build_home
from bot.models import Requester
from bot.services import Services
from bot.slack.queue_views import to_history_entries, to_status_input

_RECENT = 10


async def publish_home(svc: Services, user_id: str) -> None:
    viewer = Requester(user_id=user_id, channel_id="")  # App Home has no channel: only user rules apply
    # Recent checks = jobs named by recent audit events, newest first, that this user may see.
    job_ids = list(dict.fromkeys(e.job_id for e in reversed(await svc.audit.tail(300)) if e.job_id))
    recent = []
    for job_id in job_ids:
        job = await svc.queue.get(job_id)
        if job is not None and job.report is not None and (await svc.authorize(viewer, job.target)).allowed:
            recent.append(job)
        if len(recent) >= _RECENT:
            break
    view = build_home(
        to_history_entries(recent),
        to_status_input(await svc.queue.status()),
        user_id,
        max_targets=svc.settings.max_targets,
    )
    await svc.slack.views_publish(user_id=user_id, view=view)
