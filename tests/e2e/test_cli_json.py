"""`vpncheck check TARGET --json` as a script sees it: stdout holds one JSON document and nothing else, in
every scenario, failures included; everything else (progress, warnings, SDK logs) goes to stderr.

The real console script runs in a child process against the ARM simulator, identity endpoint and Azurite of
this test process (over real sockets), so `vpncheck check … --json | python -m json.tool` is what is tested.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

import pytest

from sandbox.processes import Azurite, RedisServer
from sandbox.scenarios import Catalogue
from sandbox.tls import SandboxTLS
from tests.azure.conftest import STORAGE_ACCOUNT_ID, azure_stack

# (target, exit code, verdict): one of each kind of ending, and a scenario that makes the engine log warnings.
CASES = [
    ("cn-psk-mismatch", 1, "unhealthy"),
    ("gw-degraded", 1, "warning"),
    ("gw-start-500-began", 0, "healthy"),  # logs `start_ambiguous` at WARNING on the way
    ("gw-forbidden", 2, "failed"),
    ("gw-expressroute", 2, "rejected"),
    ("no-such-gateway", 2, "rejected"),
]


async def test_check_json_writes_only_json_to_stdout_in_every_scenario(
    catalogue: Catalogue, tls: SandboxTLS, azurite: Azurite, redis_server: RedisServer, redis_client: object
) -> None:
    async with azure_stack(catalogue, tls, azurite) as stack:
        env = {
            **os.environ,  # the identity endpoint's variables, set by azure_stack
            **tls.env(),
            "AZURE_ARM_ENDPOINT": stack.arm.url,
            "REDIS_URL": redis_server.url,  # the queue's slot per subscription
            "AZURE_SUBSCRIPTION_IDS": ",".join(stack.subscription_ids),
            "AZURE_STORAGE_ACCOUNT_ID": STORAGE_ACCOUNT_ID,
            "AZURE_STORAGE_CONTAINER_URL": stack.container_url,
            "VPNCHECK_POLL_INTERVAL": "0.05",
            "VPNCHECK_LOG_WAIT": "2",
            "LOG_LEVEL": "INFO",
        }
        for target, code, verdict in CASES:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "check",
                target,
                "--json",
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            async with asyncio.timeout(120):
                out, err = await proc.communicate()
            assert proc.returncode == code, (target, err.decode())
            try:
                report = json.loads(out.decode("utf-8"))  # what `| python -m json.tool` needs
            except ValueError:
                pytest.fail(f"{target}: stdout is not one JSON document:\n{out.decode()!r}")
            assert report["verdict"] == verdict, target
            if target == "gw-start-500-began":
                assert "start_ambiguous" in err.decode()  # the warning went to stderr, not stdout
                assert "a troubleshoot had begun" in report["message"]
        assert len(stack.arm.runs("gw-start-500-began")) == 1
