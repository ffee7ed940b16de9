"""What the alert endpoint says in Slack: an alert thread's parent and the notes posted into it. Pure."""

from __future__ import annotations

from bot.alerts.schema import Alert
from bot.cards.escape import code, escape_mrkdwn

ALERT_USER = "Azure Monitor"  # the requester's user id for alerts: shown as `Azure Monitor`, never a mention


def _rule(alert: Alert) -> str:
    return f"*{escape_mrkdwn(alert.rule)}*"


def fired_parent(alert: Alert, target_label: str) -> str:
    sev = f" ({escape_mrkdwn(alert.severity)})" if alert.severity else ""
    return f"🔔 {_rule(alert)}{sev} fired on *{escape_mrkdwn(target_label)}*{CHECKING}"


CHECKING = ": checking"


def checked_parent(fired: str, verdict_title: str) -> str:
    """The alert's parent once a check ended: the fired line with its verdict instead of "checking"."""
    return f"{fired.removesuffix(CHECKING)}: {escape_mrkdwn(verdict_title)} — details in thread"


def joined_note(alert: Alert) -> str:
    return f"🔔 {_rule(alert)} fired on this target too: the check already running answers it"


def resolved_note(alert: Alert) -> str:
    when = f" at {code(alert.resolved_at)}" if alert.resolved_at else ""
    return f"✅ {_rule(alert)} resolved{when} (Azure Monitor)"


def not_queued_note(text: str) -> str:
    return f"⚠️ The alert's check could not be queued: {text}"
