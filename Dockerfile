# syntax=docker/dockerfile:1
# One image, two roles: `vpncheck serve` (the Slack bot, default) and `vpncheck worker` (the queue worker).
# Build from the repository root:  docker build -t vpncheck:0.1.0 .
# The base is pinned by tag in one place; add @sha256:… from your registry mirror to pin it by digest too.
FROM python:3.12.12-slim-bookworm AS base

# ---- builder: turn the project and every dependency into wheels; compilers never reach the final image ----
FROM base AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
RUN pip wheel --wheel-dir /wheels .

# ---- runtime: a virtualenv holding only the wheels, run as an unprivileged user ----
FROM base AS runtime
LABEL org.opencontainers.image.title="vpncheck" \
      org.opencontainers.image.description="ChatOps Slack bot for Azure Network Watcher VPN troubleshoot" \
      org.opencontainers.image.licenses="MIT"
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/vpncheck/bin:$PATH \
    PORT=3000 \
    METRICS_PORT=9100 \
    LOG_FORMAT=json
# The wheels are bind-mounted from the builder for this one step, so they never become a layer of their own.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    python -m venv /opt/vpncheck \
    && /opt/vpncheck/bin/pip install --no-index --find-links=/wheels /wheels/vpncheck-*.whl \
    && /opt/vpncheck/bin/pip uninstall --yes pip \
    && groupadd --system --gid 10001 vpncheck \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin vpncheck
# Numeric ids so Kubernetes can verify runAsNonRoot without reading /etc/passwd.
USER 10001:10001
WORKDIR /tmp
EXPOSE 3000 9100
# `vpncheck healthcheck` asks this container's own /healthz on METRICS_PORT (both roles; never the Slack port).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["vpncheck", "healthcheck"]
ENTRYPOINT ["vpncheck"]
CMD ["serve"]
