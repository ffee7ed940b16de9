"""The policy file read again on SIGHUP or when its content changes, without a restart.

A Kubernetes ConfigMap or a Container Apps secret volume is updated in place (a symlink swap) a minute or so
after `kubectl apply`; the file is read every `interval` seconds and compared by content, so swaps, edits
and touches are all seen. A new file that does not parse leaves the old policy in force and the reason is
logged (and counted): a typo in a policy change must never open, or close, the bot for everyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from pathlib import Path

from bot.access.policy import Policy, PolicyError
from bot.ops import metrics
from bot.ops.logging import get_logger

log = get_logger("vpncheck.policy")


class PolicyReloader:
    """Owns the reading; `apply` installs a newly parsed policy (Services swaps its `policy`)."""

    def __init__(self, path: Path, apply: Callable[[Policy], None], *, interval: float = 5.0) -> None:
        self._path = path
        self._apply = apply
        self._interval = interval
        self._text = self._read()
        self._wake = asyncio.Event()
        self.listening = asyncio.Event()  # SIGHUP is handled from here on

    def _read(self) -> str | None:
        try:
            return self._path.read_text(encoding="utf-8")
        except OSError:
            return None

    def reload(self, *, force: bool = False) -> bool:
        """Read the file; install it when it changed (or `force`) and parses. True: a new one is in force."""
        text = self._read()
        if text is None:
            log.error("policy_reload_failed", path=str(self._path), reason="cannot read the file", kept="old")
            metrics.POLICY_RELOADS.labels("failed").inc()
            return False
        if text == self._text and not force:
            return False
        self._text = text
        try:
            policy = Policy.parse(text, source=str(self._path))
        except PolicyError as exc:
            log.error("policy_reload_failed", path=str(self._path), reason=str(exc), kept="old")
            metrics.POLICY_RELOADS.labels("failed").inc()
            return False
        self._apply(policy)
        log.info("policy_reloaded", path=str(self._path), rules=len(policy.rules), admins=len(policy.admins))
        metrics.POLICY_RELOADS.labels("ok").inc()
        return True

    def request(self) -> None:
        """SIGHUP: read now, whether or not the content changed."""
        self._wake.set()

    async def run(self) -> None:
        """Until cancelled: read the file every `interval` seconds, and at once on SIGHUP."""
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):  # no signals off the main thread
            loop.add_signal_handler(signal.SIGHUP, self.request)
        self.listening.set()
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._interval)  # a schedule, or SIGHUP
                forced = self._wake.is_set()
                self._wake.clear()
                self.reload(force=forced)
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signal.SIGHUP)
