"""Child processes of the sandbox: a private redis-server and Azurite, each on a free port."""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.ports import free_port, wait_for_port
from sandbox.tls import SandboxTLS

# Azurite's well-known development account (public, documented by Microsoft; not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class MissingTool(RuntimeError):
    """A program the sandbox needs is not installed; the message says how to get it."""


@dataclass
class Child:
    proc: subprocess.Popen[bytes]
    port: int
    workdir: Path
    log_path: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@dataclass
class RedisServer:
    """A private redis-server with AOF on, as production should run it."""

    workdir: Path
    port: int = field(default_factory=free_port)
    child: Child | None = None
    # Appended to the command line, after the defaults (later options win): tests of other set-ups.
    extra_args: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        exe = shutil.which("redis-server")
        if exe is None:
            raise MissingTool(
                "redis-server is not on the PATH: install it (Debian: apt-get install redis-server)"
            )
        self.workdir.mkdir(parents=True, exist_ok=True)
        log_path = self.workdir / "redis.log"
        cmd = [
            exe,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.workdir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--maxmemory-policy",
            "noeviction",
            "--logfile",
            str(log_path),
            "--daemonize",
            "no",
            *self.extra_args,
        ]
        proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        self.child = Child(proc, self.port, self.workdir, log_path)
        wait_for_port("127.0.0.1", self.port)
        return self

    def stop(self) -> None:
        if self.child:
            self.child.stop()

    def kill(self) -> None:
        if self.child:
            self.child.kill()


def _poll(read: Callable[[], str], done: Callable[[str], bool], timeout: float, what: str) -> None:
    """Reads another process's state until `done` says so: there is nothing to wait on instead."""
    deadline = time.monotonic() + timeout
    while not done(state := read()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: {state}")
        time.sleep(0.05)


class ClusterUnsupported(RuntimeError):
    """This redis-server or redis-cli cannot run a cluster (too old, or built without it)."""


@dataclass
class LocalRedisCluster:
    """A Redis Cluster of private redis-servers (AOF on): `primaries` primaries with `replicas` each.

    Started as an operator would: `redis-server --cluster-enabled yes` per node, then
    `redis-cli --cluster create ... --cluster-replicas N`. A short node timeout makes failovers quick.
    """

    workdir: Path
    primaries: int = 3
    replicas: int = 1
    node_timeout_ms: int = 1500
    nodes: list[RedisServer] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Any node will do: the cluster client discovers the others."""
        return self.nodes[0].url

    def start(self) -> LocalRedisCluster:
        cli = shutil.which("redis-cli")
        if cli is None:
            raise ClusterUnsupported("redis-cli is not on the PATH (Debian: apt-get install redis-tools)")
        for i in range(self.primaries * (1 + self.replicas)):
            node = RedisServer(
                self.workdir / f"node{i}",
                extra_args=(
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    str(self.node_timeout_ms),
                    # the bus port defaults to port + 10000, which may be taken or past 65535
                    "--cluster-port",
                    str(free_port()),
                ),
            )
            try:
                node.start()
            except Exception as exc:
                self.stop()
                raise ClusterUnsupported(f"redis-server did not start in cluster mode: {exc}") from exc
            self.nodes.append(node)
        addresses = [f"127.0.0.1:{n.port}" for n in self.nodes]
        create = [cli, "--cluster", "create", *addresses, "--cluster-replicas", str(self.replicas)]
        created = subprocess.run(
            [*create, "--cluster-yes"],
            capture_output=True,
            timeout=120,
        )
        if created.returncode != 0:
            self.stop()
            raise ClusterUnsupported(f"redis-cli --cluster create failed: {created.stdout.decode()[-500:]}")
        for node in self.nodes:
            self.wait_ok(node)
        for node in self.nodes:
            self.wait_replicating(node)
        return self

    @staticmethod
    def _cli(node: RedisServer, *args: str) -> str:
        cli = shutil.which("redis-cli") or "redis-cli"
        done = subprocess.run([cli, "-p", str(node.port), *args], capture_output=True, timeout=10)
        return done.stdout.decode()

    def _alive(self) -> list[RedisServer]:
        return [n for n in self.nodes if n.child is not None and n.child.proc.poll() is None]

    def wait_ok(self, node: RedisServer, timeout: float = 60) -> None:
        """Until `node` says cluster_state:ok and knows every slot."""
        ok = ("cluster_state:ok", "cluster_slots_ok:16384")
        read = functools.partial(self._cli, node, "cluster", "info")
        _poll(read, lambda info: all(w in info for w in ok), timeout, f"cluster node {node.port} not ready")

    def wait_replicating(self, node: RedisServer, timeout: float = 60) -> None:
        """Until a replica has synced with its primary: one that never did cannot take over from it."""
        synced = ("role:master", "master_link_status:up")
        read = functools.partial(self._cli, node, "info", "replication")
        _poll(read, lambda info: any(w in info for w in synced), timeout, f"replica {node.port} never synced")

    def primary_of(self, key: str) -> RedisServer:
        """The node serving `key`'s slot now, as the live nodes see it."""
        node = self._alive()[0]
        slot = int(self._cli(node, "cluster", "keyslot", key).strip())
        for line in self._cli(node, "cluster", "nodes").splitlines():
            fields = line.split()
            if "master" not in fields[2] or "fail" in fields[2]:
                continue
            for span in fields[8:]:
                low, _, high = span.partition("-")
                if low.isdigit() and int(low) <= slot <= int(high or low):
                    port = int(fields[1].split("@")[0].rsplit(":", 1)[1])
                    return next(n for n in self.nodes if n.port == port)
        raise LookupError(f"no live primary serves slot {slot}")

    def wait_failover(self, old: RedisServer, key: str, timeout: float = 60) -> RedisServer:
        """After `old` (the primary of `key`) died: until a replica has taken its slots and all is ok."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                new = self.primary_of(key)
            except LookupError:
                new = old
            if new is not old:
                for node in self._alive():
                    self.wait_ok(node, timeout=max(1.0, deadline - time.monotonic()))
                return new
            if time.monotonic() > deadline:
                raise TimeoutError(f"no replica took over from {old.port}")
            time.sleep(0.05)  # polling the cluster's own failure detection

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def azurite_executable(project_root: Path | None = None) -> str:
    root = project_root or Path(__file__).resolve().parents[1]
    local = root / "node_modules" / ".bin" / "azurite-blob"
    if local.exists():
        return str(local)
    found = shutil.which("azurite-blob")
    if found:
        return found
    raise MissingTool("Azurite is not installed: run `make install` (needs Node.js and npm on the PATH)")


@dataclass
class Azurite:
    """Azurite's blob service over HTTPS with OAuth on, so clients authenticate with bearer tokens.

    Azurite accepts bearer tokens only over HTTPS (`--oauth basic`): it checks the JWT's audience,
    issuer and expiry, which is why the sandbox's managed-identity endpoint mints real-shaped JWTs.
    """

    workdir: Path
    tls: SandboxTLS
    port: int = field(default_factory=free_port)
    child: Child | None = None

    @property
    def blob_endpoint(self) -> str:
        return f"https://127.0.0.1:{self.port}/{AZURITE_ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return azurite_connection_string(self.blob_endpoint)

    def start(self) -> Azurite:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log_path = self.workdir / "azurite.log"
        cmd = [
            azurite_executable(),
            "--silent",
            "--skipApiVersionCheck",
            "--loose",
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(self.port),
            "--location",
            str(self.workdir),
            "--oauth",
            "basic",
            "--cert",
            str(self.tls.cert_file),
            "--key",
            str(self.tls.key_file),
        ]
        env = dict(os.environ)
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        self.child = Child(proc, self.port, self.workdir, log_path)
        wait_for_port("127.0.0.1", self.port, timeout=60)
        return self

    def stop(self) -> None:
        if self.child:
            self.child.stop()


def azurite_connection_string(blob_endpoint: str) -> str:
    """Azurite's well-known development account, at a given blob endpoint."""
    return (
        f"DefaultEndpointsProtocol=https;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint={blob_endpoint};"
    )


@dataclass
class ExternalRedis:
    """A Redis someone else runs (the Compose sandbox profile's `redis` service)."""

    url: str


@dataclass
class ExternalAzurite:
    """An Azurite someone else runs with this sandbox's certificate (the Compose sandbox profile)."""

    blob_endpoint: str
    tls: SandboxTLS

    @property
    def connection_string(self) -> str:
        return azurite_connection_string(self.blob_endpoint)
