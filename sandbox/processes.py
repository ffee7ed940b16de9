"""Child processes of the sandbox: a private redis-server and Azurite, each on a free port."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
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
