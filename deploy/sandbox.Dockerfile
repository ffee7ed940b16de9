# syntax=docker/dockerfile:1
# The sandbox image: the production image plus the local stand-ins (the top-level `sandbox` package and its
# one extra dependency, trustme). Only `docker compose --profile sandbox` builds it; never deploy it.
# Build from the repository root:  docker build -f deploy/sandbox.Dockerfile -t vpncheck-sandbox .
ARG VPNCHECK_IMAGE=vpncheck:0.1.0
FROM python:3.12.12-slim-bookworm AS deps
# trustme only: its own dependencies (cryptography, idna) are in the production image already.
RUN pip install --no-cache-dir --no-deps --target /opt/sandbox trustme==1.2.1

FROM ${VPNCHECK_IMAGE}
COPY --from=deps /opt/sandbox /opt/sandbox
COPY sandbox /opt/sandbox/sandbox
ENV PYTHONPATH=/opt/sandbox
USER 10001:10001
ENTRYPOINT ["python", "-m", "sandbox"]
CMD ["start"]
