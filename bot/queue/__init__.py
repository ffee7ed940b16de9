"""Redis-backed job queue: per-subscription leases, fair round-robin, merging, crash-safe delivery."""

from bot.queue.jobqueue import JobQueue
from bot.queue.records import (
    Claim,
    JobRecord,
    JobState,
    LeaseLost,
    LostJob,
    QueueLimited,
    QueueLimits,
    Repair,
    SlotBusy,
    Submission,
    Waiting,
    Work,
)
from bot.queue.redis_config import RedisNotDurable, check_redis_config
from bot.queue.status import QueuedJob, QueueSnapshot, RunningJob, SubscriptionStatus, format_status

__all__ = [
    "Claim",
    "JobQueue",
    "JobRecord",
    "JobState",
    "LeaseLost",
    "LostJob",
    "QueueLimited",
    "QueueLimits",
    "QueueSnapshot",
    "QueuedJob",
    "RedisNotDurable",
    "Repair",
    "RunningJob",
    "SlotBusy",
    "Submission",
    "SubscriptionStatus",
    "Waiting",
    "Work",
    "check_redis_config",
    "format_status",
]
