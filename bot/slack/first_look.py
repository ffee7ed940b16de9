"""The first look in the thread: live signals posted within seconds of a request, beside the queue.

Started by the intake once the job is queued (a check waits minutes for its turn; these reads do not: they
are not limited to one per subscription). It runs as a task of the process that took the request, so the
requester's ephemeral answer is not held up. Once per (thread, target): a retried event, a second click
or a request merged into a queued check claim the same Redis mark and post nothing twice. The first look is
saved beside the mark so the worker folds it into the final card.

Best effort by design: it never fails the check. A failed read is shown in the message, a failed post is
logged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.cards.chart import render_traffic_chart
from bot.cards.first_look_card import FIRST_LOOK_EVENT, build_first_look
from bot.models import FirstLook, Requester, Target
from bot.ops.logging import get_logger
from bot.queue.marks import claim_first_look, load_first_look, save_first_look
from bot.services import Services
from bot.slack.uploads import Upload, UploadFailed, share_files

log = get_logger("vpncheck.first_look")

_TASKS: set[asyncio.Task[Any]] = set()


def start_first_look(svc: Services, requester: Requester, target: Target) -> asyncio.Task[Any] | None:
    """Starts the first look in the background (None when turned off or there is no thread)."""
    if not svc.settings.first_look or not requester.thread_ts:
        return None
    return _spawn(post_first_look(svc, requester, target))


def _spawn(work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    task = asyncio.create_task(work, name="first look")
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)
    return task


async def wait_first_looks() -> None:
    """Lets running first looks finish (shutdown, tests)."""
    if _TASKS:
        await asyncio.gather(*list(_TASKS), return_exceptions=True)


async def post_first_look(svc: Services, requester: Requester, target: Target) -> FirstLook | None:
    thread = requester.thread_ts
    if not thread or not await claim_first_look(svc.redis, requester.channel_id, thread, target.id):
        return None
    try:
        first_look = await svc.engine.first_look(target)
        await save_first_look(
            svc.redis, requester.channel_id, thread, target.id, first_look.model_dump_json()
        )
        text, blocks = build_first_look(first_look)
        await svc.slack.chat_postMessage(
            channel=requester.channel_id,
            thread_ts=thread,
            text=text,
            blocks=blocks,
            unfurl_links=False,
            unfurl_media=False,
            metadata={"event_type": FIRST_LOOK_EVENT, "event_payload": {"target": target.id}},
        )
        if svc.settings.first_look_chart and first_look.traffic is not None:
            png = await asyncio.to_thread(
                render_traffic_chart,
                first_look.traffic,
                title=f"{target.name}: tunnel traffic, last 24 h",
                checked_at=first_look.checked_at,
            )
            await share_files(
                svc.slack,
                channel=requester.channel_id,
                thread_ts=thread,
                initial_comment=f"📈 {target.name}: traffic and traffic-selector drops over 24 h (UTC)",
                files=[
                    Upload(filename=f"{target.name}-traffic.png", title=f"{target.name} traffic", content=png)
                ],
            )
        log.info("first_look_posted", target=target.id, findings=len(first_look.findings))
        return first_look
    except (SlackApiError, UploadFailed, OSError) as exc:
        log.warning("first_look_failed", target=target.id, error=str(exc)[:300])
        return None
    except Exception as exc:  # never let a best-effort look escape into the event loop unseen
        log.exception("first_look_error", target=target.id, error=repr(exc))
        return None


async def stored_first_look(svc: Services, requester: Requester, target: Target) -> FirstLook | None:
    """The first look posted in the requester's thread for `target`, for the final card (None: none)."""
    if not requester.thread_ts:
        return None
    raw = await load_first_look(svc.redis, requester.channel_id, requester.thread_ts, target.id)
    if raw is None:
        return None
    try:
        return FirstLook.model_validate_json(raw)
    except ValueError:
        return None
