"""Block Kit cards: pure functions from models to `(fallback text, blocks)`; no I/O."""

from bot.cards.help import build_help
from bot.cards.history_card import build_history_card
from bot.cards.home import build_home
from bot.cards.progress import build_parent
from bot.cards.report_card import LOGS_ACTION, PORTAL_ACTION, RERUN_ACTION, build_report_card
from bot.cards.status_card import QueuedJob, RunningJob, SubscriptionQueue, build_status_card

__all__ = [
    "LOGS_ACTION",
    "PORTAL_ACTION",
    "RERUN_ACTION",
    "QueuedJob",
    "RunningJob",
    "SubscriptionQueue",
    "build_help",
    "build_history_card",
    "build_home",
    "build_parent",
    "build_report_card",
    "build_status_card",
]
