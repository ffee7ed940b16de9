"""Free-port discovery and readiness waits shared by the sandbox's child processes."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable

_HANDED_OUT: set[int] = set()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now, and one this process has not handed out before.

    The kernel may offer the same ephemeral port again once its probe socket is closed, so two calls in a row
    (PORT and METRICS_PORT of one bot) could otherwise collide before either server has bound it."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port: int = s.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def wait_for_port(host: str, port: int, timeout: float = 30.0) -> None:
    """Block until something accepts TCP connections on host:port (a child process finished starting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listening on {host}:{port} after {timeout:.0f}s") from None
            time.sleep(0.05)


async def async_wait_for_port(host: str, port: int, timeout: float = 30.0) -> None:
    await asyncio.to_thread(wait_for_port, host, port, timeout)


async def wait_http_ok(url: str, failed: Callable[[], str | None], timeout: float = 30.0) -> None:
    """Wait until `url` answers 200 (a server finished starting); `failed()` names a crash to stop early."""
    import aiohttp

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            problem = failed()
            if problem:
                raise RuntimeError(problem)
            try:
                async with http.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if loop.time() > deadline:
                raise TimeoutError(f"{url} not ready after {timeout:.0f}s")
            await asyncio.sleep(0.05)  # polling a server's start-up, not ordering events
