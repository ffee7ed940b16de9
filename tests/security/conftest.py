"""The attacks run against the whole product over real sockets: the e2e fixtures (sandbox, bot, env)."""

from tests.e2e.conftest import bot, env_scope, sandbox

__all__ = ["bot", "env_scope", "sandbox"]
