"""App Home: what the user may see, assembled from the queue and published with views.publish."""

from __future__ import annotations

from bot.cards.home import build_home
from bot.queue_views import to_history_entries, to_status_input
from bot.services import Services


async def publish_home(svc: Services, user_id: str) -> None:
    groups = await svc.groups.groups_of(user_id)
    recent = [
        job
        for job in await svc.queue.recent(limit=30)
        if svc.policy.decide(user_id, "", groups, job.target).allowed
    ][:10]
    view = build_home(to_history_entries(recent), to_status_input(await svc.queue.status()), user_id)
    await svc.slack.views_publish(user_id=user_id, view=view)
