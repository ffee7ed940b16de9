"""Redis key names of the job queue.

Every key carries the same hash tag, `{prefix}`, so they all live in one Redis Cluster slot. That is what
makes the Lua scripts legal on Redis Cluster / Azure Managed Redis (OSS cluster policy): a script may only
touch keys of one slot, and ours discover keys at run time (the job popped from a queue, the lease of the
subscription it belongs to), so no narrower tag could be declared up front. The cost — all queue traffic
on one shard — is negligible for a chat bot (a handful of commands per check).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str = "vpncheck"

    @property
    def tag(self) -> str:
        """Prefix with the hash tag; scripts receive it and build every other key from it."""
        return "{" + self.prefix + "}"

    @property
    def ready(self) -> str:
        """Sorted set: subscriptions with queued work and no lease, in round-robin order."""
        return f"{self.tag}:ready"

    @property
    def leases(self) -> str:
        """Sorted set: subscription -> lease expiry (queue clock), so expired leases are found cheaply."""
        return f"{self.tag}:leases"

    @property
    def subs(self) -> str:
        return f"{self.tag}:subs"

    @property
    def moves(self) -> str:
        """Counter: changes that shifted queued positions (scripts.py); orders parent edits of one rank."""
        return f"{self.tag}:moves"

    @property
    def active(self) -> str:
        """Hash: target key -> the job queued, running or reporting for it (merging)."""
        return f"{self.tag}:active"

    @property
    def last(self) -> str:
        """Hash: target key -> the last finished job (fresh-window answers)."""
        return f"{self.tag}:last"

    @property
    def deliveries(self) -> str:
        """Sorted set: 'job|thread' -> due time; cards owed for finished jobs, delivered without a lease."""
        return f"{self.tag}:deliveries"

    @property
    def pending(self) -> str:
        """List: one entry per job waiting in any subscription queue — the autoscaling signal.

        KEDA's redis scaler and the Container Apps scaler read `LLEN {vpncheck}:pending`, so the scripts keep
        it equal to the sum of the `q:<subscription>` lengths atomically: pushed when a job is queued, when
        an expired lease or a hand-back puts a job back; removed (LREM) whenever a job leaves its queue.
        Running jobs are not in it: a worker already holds them.
        """
        return f"{self.tag}:pending"

    @property
    def wake(self) -> str:
        """List workers block on (BLPOP) so new work is picked up without polling hard."""
        return f"{self.tag}:wake"

    def lease(self, subscription: str) -> str:
        return f"{self.tag}:lease:{subscription}"

    def queue(self, subscription: str) -> str:
        return f"{self.tag}:q:{subscription}"

    def durations(self, subscription: str) -> str:
        return f"{self.tag}:durations:{subscription}"

    def job(self, job_id: str) -> str:
        return f"{self.tag}:job:{job_id}"

    def requesters(self, job_id: str) -> str:
        return f"{self.job(job_id)}:req"

    def threads(self, job_id: str) -> str:
        return f"{self.job(job_id)}:threads"

    def delivered(self, job_id: str) -> str:
        return f"{self.job(job_id)}:delivered"

    def reused(self, job_id: str) -> str:
        return f"{self.job(job_id)}:reused"

    def history(self, target_key: str) -> str:
        return f"{self.tag}:history:{target_key}"

    @property
    def audit(self) -> str:
        """Stream: the audit trail (bot.access.audit), bounded by length."""
        return f"{self.tag}:audit"

    @property
    def channels(self) -> str:
        """Sorted set: channel -> when a parent was last posted there (the lost-request sweep's scope)."""
        return f"{self.tag}:channels"

    @property
    def sweep(self) -> str:
        """Once-per-interval mark: which process sweeps for lost requests now."""
        return f"{self.tag}:sweep"

    def alert(self, alert_digest: str) -> str:
        """Where an Azure Monitor alert instance's thread is remembered (its id hashed: ids are long)."""
        return f"{self.tag}:alert:{alert_digest}"

    def alert_parent(self, channel_id: str, ts: str) -> str:
        """The text an alert's parent message was posted with, so its end can be edited into it."""
        return f"{self.tag}:alert-parent:{channel_id}:{ts}"

    def alert_target(self, target_key: str) -> str:
        """The latest alert thread of a target: a second alert on it joins that check while it runs."""
        return f"{self.tag}:alert-target:{target_key}"

    def seen(self, delivery: str) -> str:
        """Once-only mark of a Slack delivery that may repeat (event id, double-clicked button)."""
        return f"{self.tag}:seen:{delivery}"

    def rate(self, bucket: str) -> str:
        """Hash: one Slack rate bucket (tokens, refreshed at, blocked until) shared by every process."""
        return f"{self.tag}:rate:{bucket}"

    def first_look(self, channel_id: str, thread_ts: str, target_id: str) -> str:
        """The first look posted into a thread for a target: claimed once, then holding its JSON."""
        return f"{self.tag}:first-look:{channel_id}:{thread_ts}:{target_id.lower()}"

    def limit(self, scope: str) -> str:
        """Requests counted in the current window of one request-rate limit (`user:U…`, `channel:C…`)."""
        return f"{self.tag}:limit:{scope}"

    def user(self, user_id: str) -> str:
        """The jobs a person waits for (set of job ids, pruned as SUBMIT reads it): the per-person cap."""
        return f"{self.tag}:user:{user_id}"

    def parent(self, channel_id: str, parent_ts: str) -> str:
        """A parent message's last edit (rank queued < running < done, sequence, body): edits move forward."""
        return f"{self.tag}:parent-edit:{channel_id}:{parent_ts}"

    @property
    def intake(self) -> str:
        """Hash: request id -> entry of a request acknowledged and not answered yet (intake_journal)."""
        return f"{self.tag}:intake"

    def intake_claim(self, request_id: str) -> str:
        """Once-only mark: which process replays an unfinished request now."""
        return f"{self.tag}:intake-claim:{request_id}"

    def serving(self, process_id: str) -> str:
        """Heartbeat of one serve process: its journal entries are its own while this key lives."""
        return f"{self.tag}:serving:{process_id}"
