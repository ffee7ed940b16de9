"""POST /alerts/azure-monitor: an action group's common-schema alert becomes a check answered in a thread.

The I/O edge of bot/alerts: authenticate (auth.py), parse (schema.py), resolve the alert's resources to VPN
targets, route by policy (`alert_channel`), then the one intake path (bot/slack/intake.enqueue) with a
Requester of source "alert". Answers, all JSON `{"outcome", "detail"}`:

* 202 queued / joined / repeat / resolved: accepted; nothing for Azure to retry;
* 400 malformed body or not a common-schema alert, 401 not authenticated, 413 too large, 422 the alert is
  not about a VPN target we can check or no rule routes it: permanent, so Azure does not retry them;
* 503 Slack or Redis failed: Azure's action groups retry a webhook on 5xx-class failures, and the alert's
  claim is given back so the retry starts the check.

Every refusal is audited (kind "alert"), with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from bot.access.audit import AuditEvent
from bot.alerts.auth import (
    JwtRules,
    SigningKeys,
    Unauthorized,
    keys_from_jwks,
    secret_matches,
    token_kid,
    verify_token,
)
from bot.alerts.messages import ALERT_USER, fired_parent, joined_note, not_queued_note, resolved_note
from bot.alerts.schema import Alert, AlertError, parse_alert
from bot.models import Report, Requester, Target
from bot.ops.logging import get_logger
from bot.queue.alert_threads import (
    ALERT_TTL_SECONDS,
    AlertThread,
    alert_thread,
    claim_alert,
    release_alert,
    remember_thread,
    target_thread,
)
from bot.services import Services
from bot.slack.intake import enqueue
from bot.slack.parent_message import target_label

log = get_logger("vpncheck.alerts")

ALERT_PATH = "/alerts/azure-monitor"
MAX_BODY_BYTES = 256 * 1024  # documented payloads are a few kB; a log alert with rows stays well below
_ACTIVE = frozenset({"queued", "running", "reporting"})


@dataclass(frozen=True)
class Answer:
    status: int
    outcome: str
    detail: str = ""

    def response(self) -> web.Response:
        return web.json_response({"outcome": self.outcome, "detail": self.detail}, status=self.status)


class AlertEndpoint:
    def __init__(self, svc: Services) -> None:
        self.svc = svc
        s = svc.settings
        self.rules = JwtRules(s.alert_jwt_issuer, s.alert_jwt_audience, s.alert_jwt_role)
        self.keys = SigningKeys(self._fetch_keys)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(ALERT_PATH, self.handle)

    async def _fetch_keys(self) -> Mapping[str, Any]:
        timeout = aiohttp.ClientTimeout(total=10)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(self.svc.settings.alert_jwks_url) as resp,
        ):
            resp.raise_for_status()
            return keys_from_jwks(await resp.json(content_type=None))

    async def authenticate(self, request: web.Request) -> str:
        """How the caller proved itself ("bearer" / "key"), or Unauthorized."""
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("Authorization must be 'Bearer <token>'")
            if not self.svc.settings.alert_jwt_enabled:
                raise Unauthorized("bearer tokens are not configured here (VPNCHECK_ALERT_JWT_*)")
            token = token.strip()
            kid = token_kid(token)
            try:
                keys = await self.keys.for_kid(kid)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                raise Unauthorized(f"signing keys unavailable: {type(exc).__name__}") from None
            verify_token(token, keys, self.rules)
            return "bearer"
        if secret_matches(request.query.get("key"), self.svc.settings.alert_secret):
            return "key"
        raise Unauthorized("no valid bearer token or key")

    async def handle(self, request: web.Request) -> web.Response:
        try:
            via = await self.authenticate(request)
        except Unauthorized as exc:
            await self._audit("refused", f"unauthenticated: {exc}")
            resp = Answer(401, "unauthenticated", str(exc)).response()
            resp.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return resp
        raw = await request.content.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            await self._audit("refused", f"body over {MAX_BODY_BYTES} bytes")
            return Answer(413, "too_large", f"at most {MAX_BODY_BYTES} bytes").response()
        try:
            alert = parse_alert(json.loads(raw))
        except (ValueError, AlertError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            detail = str(exc) if isinstance(exc, AlertError) else "body is not JSON"
            await self._audit("refused", f"malformed: {detail}")
            return Answer(400, "malformed", detail).response()
        async with self.svc.after_ack:
            answer = await handle_alert(self.svc, alert)
        log.info("alert", outcome=answer.outcome, status=answer.status, via=via, rule=alert.rule)
        return answer.response()

    async def _audit(self, outcome: str, detail: str, target: str | None = None) -> None:
        await self.svc.audit.record(
            AuditEvent(kind="alert", action="alert", outcome=outcome, detail=detail, target=target)
        )


async def handle_alert(svc: Services, alert: Alert) -> Answer:
    if alert.condition == "Resolved":
        return await _resolved(svc, alert)
    targets, problems = await _targets(svc, alert)
    if not targets:
        detail = "; ".join(problems) or "the alert names no VPN gateway or connection"
        await _audit(svc, alert, "refused", detail)
        return Answer(422, "no_target", detail)
    target = targets[0]
    route = svc.policy.alert_route(target)
    if not route.allowed or route.channel is None:
        await _audit(svc, alert, "refused", route.reason, target)
        return Answer(422, "not_routed", route.reason)

    claim = await claim_alert(svc.redis, alert.alert_id)
    if not claim.first:
        await _audit(svc, alert, "repeat", "joined the alert's thread", target)
        return Answer(202, "repeat", "this alert is already being answered")
    try:
        return await _start(svc, alert, targets, route.channel)
    except Exception as exc:
        await release_alert(svc.redis, alert.alert_id)
        log.error("alert_failed", error=str(exc), rule=alert.rule)
        await _audit(svc, alert, "error", str(exc), target)
        return Answer(503, "unavailable", "could not start the check; retry later")


async def _start(svc: Services, alert: Alert, targets: list[Target], channel: str) -> Answer:
    first = targets[0]
    running = await target_thread(svc.redis, first.key)
    if running and running.job_id:
        job = await svc.queue.get(running.job_id)
        if job is not None and job.state in _ACTIVE:
            await svc.slack.chat_postMessage(
                channel=running.channel_id, thread_ts=running.thread_ts, text=joined_note(alert)
            )
            await remember_thread(svc.redis, alert.alert_id, first.key, running)
            await _audit(svc, alert, "joined", f"job {running.job_id}", first, job_id=running.job_id)
            return Answer(202, "joined", f"joined the running check (job {running.job_id})")

    label = ", ".join(target_label(t) for t in targets)
    fired = fired_parent(alert, label)
    posted = await svc.slack.chat_postMessage(channel=channel, text=fired)
    ts = str(posted["ts"])
    # kept so the message can say the verdict when the check ends (bot/slack/parent_message.py)
    await svc.redis.set(svc.queue.keys.alert_parent(channel, ts), fired, ex=ALERT_TTL_SECONDS)
    requester = Requester(user_id=ALERT_USER, channel_id=channel, thread_ts=ts, source="alert")
    jobs: list[str] = []
    for target in targets:
        decision = await svc.authorize(requester, target)
        if not decision.allowed:  # a second target routed elsewhere: not checked from this channel
            await svc.slack.chat_postMessage(channel=channel, thread_ts=ts, text=f"🔒 {decision.reason}")
            await _audit(svc, alert, "refused", decision.reason, target)
            continue
        result = await enqueue(svc, requester, target, target.id)
        if not result.queued or result.job_id is None:
            await svc.slack.chat_postMessage(channel=channel, thread_ts=ts, text=not_queued_note(result.text))
            continue
        jobs.append(result.job_id)
        await remember_thread(svc.redis, alert.alert_id, target.key, AlertThread(channel, ts, result.job_id))
    if not jobs:
        await release_alert(svc.redis, alert.alert_id)
        return Answer(503, "unavailable", "no check could be queued")
    return Answer(202, "queued", f"jobs {', '.join(jobs)}")


async def _resolved(svc: Services, alert: Alert) -> Answer:
    thread = await alert_thread(svc.redis, alert.alert_id)
    if thread is None:
        await _audit(svc, alert, "resolved", "no thread known for this alert")
        return Answer(202, "resolved", "no thread known for this alert: nothing posted")
    await svc.slack.chat_postMessage(
        channel=thread.channel_id, thread_ts=thread.thread_ts, text=resolved_note(alert)
    )
    await _audit(svc, alert, "resolved", f"noted in {thread.channel_id}")
    return Answer(202, "resolved", "noted in the alert's thread")


async def _targets(svc: Services, alert: Alert) -> tuple[list[Target], list[str]]:
    """The alert's VPN targets, resolved (each read from ARM: it exists, is supported, has a watcher)."""
    targets: list[Target] = []
    problems: list[str] = []
    for arm_id in alert.candidate_ids()[: svc.settings.max_targets]:
        resolved = await svc.engine.resolve(arm_id)
        if isinstance(resolved, Report):
            problems.append(resolved.message or f"{arm_id} cannot be checked")
        elif all(t.key != resolved.key for t in targets):
            targets.append(resolved)
    if not alert.candidate_ids():
        problems.append(
            "the alert is not about a VPN gateway or connection (alertTargetIDs: "
            + ", ".join(alert.target_ids[:3])
            + ")"
        )
    return targets, problems


async def _audit(
    svc: Services,
    alert: Alert,
    outcome: str,
    detail: str,
    target: Target | None = None,
    *,
    job_id: str | None = None,
) -> None:
    await svc.audit.record(
        AuditEvent(
            kind="alert",
            user_id=ALERT_USER,
            action=f"alert {alert.rule}",
            target=target.id if target else (alert.target_ids[0] if alert.target_ids else None),
            outcome=outcome,
            detail=f"{alert.alert_id}: {detail}",
            job_id=job_id,
        )
    )
