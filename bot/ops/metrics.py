"""Prometheus metrics, named once here so every module counts into the same series."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

QUEUE_DEPTH = Gauge("vpncheck_queue_depth", "Jobs waiting, per subscription", ["subscription"])
QUEUE_WAIT = Histogram(
    "vpncheck_queue_wait_seconds",
    "Time from request to the Azure operation's start",
    ["subscription"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800),
)
OPERATIONS_STARTED = Counter("vpncheck_operations_started_total", "Azure troubleshoot operations started")
OPERATIONS_FINISHED = Counter(
    "vpncheck_operations_finished_total", "Checks finished, by verdict and Azure code", ["verdict", "code"]
)
OPERATION_DURATION = Histogram(
    "vpncheck_operation_duration_seconds",
    "Azure troubleshoot duration",
    buckets=(5, 15, 30, 60, 90, 120, 180, 240, 300, 600, 900),
)
LOG_SECONDS = Histogram("vpncheck_log_seconds", "Log zip download and parse time", ["step"])
SLACK_ERRORS = Counter("vpncheck_slack_errors_total", "Slack API errors", ["method", "error"])
SLACK_RETRIES = Counter("vpncheck_slack_retries_total", "Slack API calls retried (429 / 5xx)", ["method"])
REQUESTS = Counter("vpncheck_requests_total", "Slack requests handled", ["kind"])
REFUSED = Counter("vpncheck_refused_total", "Requests refused by the access policy", ["kind"])
POLICY_RELOADS = Counter(
    "vpncheck_policy_reloads_total",
    "Policy file re-reads that installed a new policy or kept the old",
    ["result"],
)
JOBS_LOST = Counter(
    "vpncheck_jobs_lost_total",
    "Queued jobs passed over because their data was gone from Redis (lost, or expired while queued)",
)
QUEUE_REPAIRS = Counter("vpncheck_queue_repairs_total", "What the queue's repair pass mended", ["what"])
REQUESTS_LOST = Counter(
    "vpncheck_requests_lost_total",
    "Requests whose job Redis lost, answered with an apology and a Re-run button",
)
