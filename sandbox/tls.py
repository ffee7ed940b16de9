"""A locally generated CA and a server certificate for 127.0.0.1 / localhost (trustme).

Clients trust the CA through the standard SSL_CERT_FILE / REQUESTS_CA_BUNDLE variables, exactly as a
company CA would be trusted in production: no verification is ever switched off.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class SandboxTLS:
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(self.cert_file), str(self.key_file))
        return ctx

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def env(self) -> dict[str, str]:
        return {"SSL_CERT_FILE": str(self.ca_file), "REQUESTS_CA_BUNDLE": str(self.ca_file)}


def make_tls(workdir: Path) -> SandboxTLS:
    """Create (or reuse) the CA and server certificate files under workdir."""
    workdir.mkdir(parents=True, exist_ok=True)
    paths = SandboxTLS(workdir / "ca.pem", workdir / "server.pem", workdir / "server-key.pem")
    if all(p.exists() for p in (paths.ca_file, paths.cert_file, paths.key_file)):
        return paths
    ca = trustme.CA(organization_name="vpncheck sandbox CA")
    cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
    ca.cert_pem.write_to_path(str(paths.ca_file))
    cert.private_key_pem.write_to_path(str(paths.key_file))
    cert.cert_chain_pems[0].write_to_path(str(paths.cert_file))
    return paths
