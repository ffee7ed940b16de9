"""`python -m sandbox demo`: the whole product in one terminal.

Starts the sandbox, runs `vpncheck serve` and `vpncheck worker` as real child processes with the printed
settings, plays signed `/vpncheck` requests as Slack would, then an Azure Monitor alert signed as an action
group's secure webhook would be, and prints each resulting Slack thread.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.alerts.endpoint import ALERT_PATH
from bot.cards.report_card import CARD_EVENT
from sandbox.alerts import AlertSender, alert_payload
from sandbox.processes import MissingTool
from sandbox.render import render_thread
from sandbox.roles import Roles
from sandbox.runner import Sandbox
from sandbox.scenarios import load_catalogue
from sandbox.slack_client import SlackClient
from sandbox.slack_state import SlackState, Thread


@dataclass(frozen=True)
class DemoScenario:
    target: str
    channel_id: str
    user_id: str
    what: str


SCENARIOS: tuple[DemoScenario, ...] = (
    DemoScenario("cn-healthy", "C0INCIDENT1", "U0ONCALL01", "a healthy IPsec connection"),
    DemoScenario("cn-psk-mismatch", "C0INCIDENT2", "U0ONCALL02", "a connection whose pre-shared keys differ"),
    DemoScenario("gw-no-connections", "C0INCIDENT3", "U0ONCALL03", "a VPN gateway with no connections"),
)
# A watch on a target the simulator flips (Healthy, Healthy, a PSK failure, …): one message, at the change.
# Its runs queue behind the checks above (same subscription): on-demand checks never wait for a watch.
WATCH = DemoScenario("cn-watched", "C0WATCHES", "U0ONCALL04", "a watch every second: posts only on change")
# An alert, routed by sandbox/policy.yaml's alert_channel: the thread is opened by the bot, not by a person.
ALERT = DemoScenario(
    "cn-ike-policy-mismatch", "C0ALERTS", "Azure Monitor", "a metric alert: tunnel bytes at 0"
)


def pick_scenarios(only: Sequence[str] | None, catalogue: Sequence[str]) -> list[DemoScenario]:
    """The scripted three, or the named catalogue targets each in a channel of its own.

    An unknown name is an error that lists the valid ones: a demo of nothing must not pass."""
    if not only:
        return list(SCENARIOS)
    known = {name.lower(): name for name in catalogue}
    unknown = [name for name in only if name.lower() not in known]
    if unknown:
        raise ValueError(
            f"unknown scenario {', '.join(unknown)}; the catalogue (sandbox/scenarios.yaml) has: "
            + ", ".join(sorted(catalogue))
        )
    scripted = {s.target: s for s in SCENARIOS}
    picked: list[DemoScenario] = []
    for i, name in enumerate(dict.fromkeys(known[n.lower()] for n in only), start=1):
        picked.append(scripted.get(name) or DemoScenario(name, f"C0DEMO{i:04d}", f"U0ONCALL{i:02d}", name))
    return picked


REFUSALS = ("🚫", "🔒")


def refusal(state: SlackState, scenario: DemoScenario) -> str | None:
    """The private answer of a request refused before any job (not found, unsupported, not allowed)."""
    for ephemeral in state.ephemerals(scenario.channel_id, scenario.user_id):
        if ephemeral.text.startswith(REFUSALS):
            return ephemeral.text
    return None


def watch_changes(state: SlackState, channel_id: str) -> list[str]:
    """The messages a watch posted in its channel: one per change of verdict."""
    return [m.text for m in state.messages(channel_id) if " changed: " in (m.text or "")]


def card_thread(state: SlackState, channel_id: str) -> Thread | None:
    """The thread under our parent message in this channel, once it holds a card and shows the outcome."""
    for message in state.messages(channel_id):
        thread = state.thread(channel_id, message.ts)
        has_card = any((reply.metadata or {}).get("event_type") == CARD_EVENT for reply in thread.replies)
        # a command's parent shows the outcome in its final edit; an alert's parent stays "🔔 … fired on …"
        if has_card and ("details in thread" in thread.parent.text or "fired on" in thread.parent.text):
            return thread
    return None


async def run_demo(
    workdir: Path | None = None,
    *,
    operation_seconds: float = 1.5,
    only: Sequence[str] | None = None,
    realistic: bool = False,
) -> int:
    """`realistic=True` plays recorded timings (8–9 minutes a run): pick one scenario with `only`."""
    try:
        scenarios = pick_scenarios(only, [t.name for t in load_catalogue().targets()])
    except ValueError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2
    if not only:
        scenarios += [WATCH, ALERT]
    try:
        sandbox = Sandbox(workdir, operation_seconds=operation_seconds, realistic=realistic)
        async with sandbox:
            return await _play(sandbox, scenarios)
    except MissingTool as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2


async def _play(sandbox: Sandbox, scenarios: list[DemoScenario]) -> int:
    roles = Roles.start(sandbox)
    color = sys.stdout.isatty()
    failures = 0
    try:
        bot_url = sandbox.bot_url
        await roles.ready()
        slack = SlackClient(sandbox.signing_secret, sandbox.slack.url)
        print(
            f"demo: sandbox up, bot on :{sandbox.bot_port}, worker running; "
            f"simulated Azure operations take {sandbox.operation_seconds:g}s.\n",
            flush=True,
        )
        for scenario in scenarios:
            started = time.monotonic()
            if scenario is ALERT:
                payload = alert_payload("metric", sandbox.catalogue.target(scenario.target).id)
                sender = AlertSender(f"http://127.0.0.1:{sandbox.bot_port}{ALERT_PATH}")
                status, body = await sender.send(payload, token=sandbox.alert_issuer.mint())
                print(f"━━ Azure Monitor → {ALERT_PATH}  ({scenario.what} on {scenario.target})")
                print(f"   HTTP {status} in {(time.monotonic() - started) * 1000:.0f} ms: {body}", flush=True)
                continue
            text = f"watch {scenario.target} every 1s" if scenario is WATCH else scenario.target
            resp = await slack.slash_command(
                bot_url, text=text, user_id=scenario.user_id, channel_id=scenario.channel_id
            )
            ack_ms = (time.monotonic() - started) * 1000
            ack_text = (resp.json() or {}).get("text", "") if resp.status == 200 else f"HTTP {resp.status}"
            print(f"━━ /vpncheck {text}  ({scenario.what})")
            print(f"   ephemeral ack in {ack_ms:.0f} ms: {ack_text}", flush=True)
        for scenario in scenarios:

            def answered(state: SlackState, s: DemoScenario = scenario) -> bool:
                if s is WATCH:
                    return bool(watch_changes(state, s.channel_id))
                return card_thread(state, s.channel_id) is not None or refusal(state, s) is not None

            try:
                await sandbox.slack.wait_for(answered, timeout=60 + 10 * sandbox.operation_seconds)
            except TimeoutError:
                failures += 1
                print(f"\n✗ no card for {scenario.target} in time.\nworker log:\n{roles.worker.tail()}")
                continue
            if scenario is WATCH:
                await slack.slash_command(
                    bot_url,
                    text=f"unwatch {scenario.target}",
                    user_id=scenario.user_id,
                    channel_id=WATCH.channel_id,
                )
                runs = len(sandbox.arm.troubleshoot_posts(scenario.target))
                print(
                    f"\n#{scenario.channel_id} — /vpncheck watch {scenario.target}: {runs} runs, unwatched\n"
                )
                for change in watch_changes(sandbox.slack.state, scenario.channel_id):
                    print(f"  {change}")
                continue
            source = "alert" if scenario is ALERT else "/vpncheck"
            print(f"\n#{scenario.channel_id} — {source} {scenario.target}\n")
            thread = card_thread(sandbox.slack.state, scenario.channel_id)
            if thread is not None:
                print(render_thread(thread, color=color))
            else:  # refused before any job: the person's private answer is the whole outcome
                print(f"(only visible to you) {refusal(sandbox.slack.state, scenario)}")
    finally:
        roles.stop()
    ok = len(scenarios) - failures
    print(f"\ndemo: {ok}/{len(scenarios)} scenarios answered (a card, or a refusal saying why).")
    return 0 if failures == 0 else 1
