"""One settings object for every role, read from the environment and an optional `.env` file.

Names are a public contract (README, .env.example, deploy files): change them only with a migration note.
Validation errors become one line per bad value (`SettingsError`), never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.logs.archive import ZipLimits

_ARM_ID_PREFIX = "/subscriptions/"


class SettingsError(Exception):
    """Raised with every problem found, one per line, ready to print."""


def _split_csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class StorageRef(BaseModel):
    """One log storage account: its ARM id (`storageId`) and the container URL (`storagePath`)."""

    account_id: str
    container_url: str


class Settings(BaseSettings):
    # env_ignore_empty: `NAME=` (as `cp .env.example .env` leaves it) means "unset", never "" or the path `.`
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    # --- Redis (the queue) -------------------------------------------------------------------
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", validation_alias="REDIS_URL")
    # Start even though Redis has no persistence (appendonly no, no save): restarts then lose every job.
    # Talk to a Redis Cluster (OSS cluster API: a self-run cluster, Azure Managed Redis with OSS clustering).
    redis_cluster: bool = Field(default=False, validation_alias="REDIS_CLUSTER")
    redis_allow_no_persistence: bool = Field(
        default=False, validation_alias="VPNCHECK_REDIS_ALLOW_NO_PERSISTENCE"
    )

    # --- Slack ---------------------------------------------------------------------------------
    slack_bot_token: str = Field(default="", validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: str = Field(default="", validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: str | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")
    # The workspace(s) and/or Enterprise Grid org served; requests from others are refused (serve needs one).
    slack_team_ids: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="SLACK_TEAM_IDS"
    )
    slack_enterprise_id: str = Field(default="", validation_alias="SLACK_ENTERPRISE_ID")
    port: int = Field(default=3000, ge=1, le=65535, validation_alias="PORT")

    # --- Azure ---------------------------------------------------------------------------------
    azure_arm_endpoint: str = Field(
        default="https://management.azure.com", validation_alias="AZURE_ARM_ENDPOINT"
    )
    azure_subscription_ids: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="AZURE_SUBSCRIPTION_IDS"
    )
    azure_storage_account_id: str = Field(default="", validation_alias="AZURE_STORAGE_ACCOUNT_ID")
    azure_storage_container_url: str = Field(default="", validation_alias="AZURE_STORAGE_CONTAINER_URL")
    # Region (or "<subscription id>/<region>") → storage account for that region's gateways; JSON.
    azure_storage_by_region: dict[str, StorageRef] = Field(
        default_factory=dict, validation_alias="AZURE_STORAGE_BY_REGION"
    )

    # --- Behaviour -----------------------------------------------------------------------------
    aliases: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict, validation_alias="VPNCHECK_ALIASES"
    )
    policy_file: Path | None = Field(default=None, validation_alias="VPNCHECK_POLICY_FILE")
    # Seconds between reads of the policy file (a change applies without a restart; SIGHUP reads at once).
    policy_reload_interval: float = Field(
        default=5.0, gt=0, le=3600, validation_alias="VPNCHECK_POLICY_RELOAD_INTERVAL"
    )
    poll_interval: float = Field(default=10.0, gt=0, le=300, validation_alias="VPNCHECK_POLL_INTERVAL")
    operation_timeout: float = Field(default=900.0, gt=0, validation_alias="VPNCHECK_OPERATION_TIMEOUT")
    log_max_bytes: int = Field(default=256 * 1024 * 1024, gt=0, validation_alias="VPNCHECK_LOG_MAX_BYTES")
    log_wait: float = Field(default=180.0, ge=0, le=3600, validation_alias="VPNCHECK_LOG_WAIT")
    # The first look: live signals posted into the thread within seconds, beside the queued troubleshoot.
    first_look: bool = Field(default=True, validation_alias="VPNCHECK_FIRST_LOOK")
    first_look_timeout: float = Field(
        default=25.0, gt=0, le=120, validation_alias="VPNCHECK_FIRST_LOOK_TIMEOUT"
    )
    first_look_chart: bool = Field(default=True, validation_alias="VPNCHECK_FIRST_LOOK_CHART")
    # Hostile log zips are refused from their central directory before a byte is inflated (bench/zip_bench).
    zip_max_members: int = Field(default=10_000, ge=1, validation_alias="VPNCHECK_ZIP_MAX_MEMBERS")
    zip_max_member_bytes: int = Field(
        default=256 * 1024 * 1024, gt=0, validation_alias="VPNCHECK_ZIP_MAX_MEMBER_BYTES"
    )
    zip_max_total_bytes: int = Field(
        default=512 * 1024 * 1024, gt=0, validation_alias="VPNCHECK_ZIP_MAX_TOTAL_BYTES"
    )
    # Seconds an event (a mention) stays claimed while its answer is made; a crash before answering lets
    # Slack's next retry (about 1 and 5 minutes later) through once this has passed.
    intake_claim_seconds: float = Field(
        default=60.0, gt=0, le=600, validation_alias="VPNCHECK_INTAKE_CLAIM_SECONDS"
    )
    # Seconds between a serve process's intake-journal rounds: it renews its own heartbeat and replays the
    # requests of serve processes whose heartbeat (three rounds) ran out, e.g. killed after the ack.
    intake_journal_interval: float = Field(
        default=5.0, gt=0, le=300, validation_alias="VPNCHECK_INTAKE_JOURNAL_INTERVAL"
    )
    # Checks one person / one channel may ask for per window (each target counts); past it: refused, with
    # when to retry. After-ack work (look-ups, posting, queueing) holding a slot past the timeout stops.
    user_rate: int = Field(default=20, ge=1, validation_alias="VPNCHECK_USER_RATE")
    channel_rate: int = Field(default=60, ge=1, validation_alias="VPNCHECK_CHANNEL_RATE")
    rate_window: float = Field(default=300.0, gt=0, le=86400, validation_alias="VPNCHECK_RATE_WINDOW")
    after_ack_timeout: float = Field(
        default=120.0, gt=0, le=3600, validation_alias="VPNCHECK_AFTER_ACK_TIMEOUT"
    )
    max_targets: int = Field(default=5, ge=1, le=20, validation_alias="VPNCHECK_MAX_TARGETS")
    # Caps on the queue (0: none), checked atomically when a request is queued; each refusal names its cap.
    max_queued_per_subscription: int = Field(
        default=20, ge=0, validation_alias="VPNCHECK_MAX_QUEUED_PER_SUBSCRIPTION"
    )
    max_waiting_per_user: int = Field(default=10, ge=0, validation_alias="VPNCHECK_MAX_WAITING_PER_USER")
    max_requesters_per_job: int = Field(default=50, ge=0, validation_alias="VPNCHECK_MAX_REQUESTERS_PER_JOB")
    # Watches (`/vpncheck watch`): the shortest interval anyone may ask for, the interval when none is given,
    # caps per channel and per person, and how often each process looks for watches that are due.
    watch_min_interval: float = Field(default=900.0, gt=0, validation_alias="VPNCHECK_WATCH_MIN_INTERVAL")
    watch_interval: float = Field(default=3600.0, gt=0, validation_alias="VPNCHECK_WATCH_INTERVAL")
    watch_max_per_channel: int = Field(default=20, ge=1, validation_alias="VPNCHECK_WATCH_MAX_PER_CHANNEL")
    watch_max_per_user: int = Field(default=10, ge=1, validation_alias="VPNCHECK_WATCH_MAX_PER_USER")
    watch_tick: float = Field(default=30.0, gt=0, le=3600, validation_alias="VPNCHECK_WATCH_TICK")
    lease_ttl: float = Field(default=30.0, gt=0, validation_alias="VPNCHECK_LEASE_TTL")
    fresh_window: float = Field(default=120.0, ge=0, validation_alias="VPNCHECK_FRESH_WINDOW")
    retention_days: float = Field(default=30.0, gt=0, validation_alias="VPNCHECK_RETENTION_DAYS")
    # A card Slack keeps refusing for a transient reason (5xx, 429, connection) is given up this many seconds
    # after the result was ready: the requester is told privately and the audit log records it.
    card_max_age: float = Field(default=3600.0, gt=0, validation_alias="VPNCHECK_CARD_MAX_AGE")
    # Total text of a card's blocks. Slack refuses more than about 12,000 (msg_blocks_too_long; refusals were
    # reported from 11,341): the card degrades to fit and the full report goes into the thread as a file.
    card_text_budget: int = Field(
        default=10_000, ge=2000, le=11_000, validation_alias="VPNCHECK_CARD_TEXT_BUDGET"
    )
    # A request whose parent still says queued/running this long after its card was due, and whose job Redis
    # no longer has, is answered with an apology and a Re-run button; workers sweep for them this often.
    lost_grace: float = Field(default=900.0, ge=0, validation_alias="VPNCHECK_LOST_GRACE")
    lost_sweep_interval: float = Field(default=300.0, gt=0, validation_alias="VPNCHECK_LOST_SWEEP_INTERVAL")
    worker_concurrency: int = Field(default=16, ge=1, le=1000, validation_alias="VPNCHECK_WORKER_CONCURRENCY")
    metrics_port: int = Field(default=9100, ge=0, le=65535, validation_alias="METRICS_PORT")
    # Seconds between the background readiness checks (/readyz answers from the last one, never calls Slack).
    ready_interval: float = Field(default=10.0, gt=0, le=300, validation_alias="VPNCHECK_READY_INTERVAL")
    portal_url: str = Field(default="https://portal.azure.com", validation_alias="VPNCHECK_PORTAL_URL")

    # --- Azure Monitor alerts (POST /alerts/azure-monitor; the route exists only when one option is set) --
    # Shared-secret option: the action group's webhook URL carries `?key=<this>`; at least 32 characters.
    alert_secret: str = Field(default="", validation_alias="VPNCHECK_ALERT_SECRET")
    # Secure-webhook option (Entra ID bearer token): all three, or none. Issuer: https://sts.windows.net/<tenant>/
    # (v1 tokens); audience: the app registration's Application ID URI; keys: the tenant's JWKS URL.
    alert_jwt_issuer: str = Field(default="", validation_alias="VPNCHECK_ALERT_JWT_ISSUER")
    alert_jwt_audience: str = Field(default="", validation_alias="VPNCHECK_ALERT_JWT_AUDIENCE")
    alert_jwks_url: str = Field(default="", validation_alias="VPNCHECK_ALERT_JWKS_URL")
    # The app role the token must carry (Microsoft's set-up script assigns it to the action groups' app).
    alert_jwt_role: str = Field(
        default="ActionGroupsSecureWebhook", validation_alias="VPNCHECK_ALERT_JWT_ROLE"
    )

    # --- Logging -------------------------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", validation_alias="LOG_LEVEL"
    )
    log_format: Literal["json", "console"] = Field(default="json", validation_alias="LOG_FORMAT")

    @field_validator("azure_subscription_ids", "slack_team_ids", mode="before")
    @classmethod
    def _subscriptions(cls, value: object) -> object:
        return _split_csv(value) if isinstance(value, str) else value

    @field_validator("aliases", mode="before")
    @classmethod
    def _aliases(cls, value: object) -> object:
        """`alias=target,alias2=target2`: short names on-call engineers type for long ARM ids."""
        if not isinstance(value, str):
            return value
        out: dict[str, str] = {}
        for item in _split_csv(value):
            name, sep, target = item.partition("=")
            if not sep or not name.strip() or not target.strip():
                raise ValueError(f"expected alias=target, got {item!r}")
            out[name.strip().lower()] = target.strip()
        return out

    @field_validator("azure_storage_by_region", mode="before")
    @classmethod
    def _by_region(cls, value: object) -> object:
        """Also read as a list of {"region", "account_id", "container_url"} entries: the shape the Bicep in
        deploy/azure writes (its template language builds a list without lambdas, which checkov can parse)."""
        if isinstance(value, list):
            out: dict[str, object] = {}
            for entry in value:
                if not isinstance(entry, dict) or "region" not in entry:
                    raise ValueError(
                        'each entry of the list form needs "region", "account_id", "container_url"'
                    )
                out[str(entry["region"])] = {k: v for k, v in entry.items() if k != "region"}
            return out
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("azure_arm_endpoint")
    @classmethod
    def _arm(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("must be an https URL such as https://management.azure.com")
        return value.rstrip("/")

    @field_validator("azure_storage_account_id")
    @classmethod
    def _storage_id(cls, value: str) -> str:
        if value and (
            not value.lower().startswith(_ARM_ID_PREFIX)
            or "/providers/microsoft.storage/storageaccounts/" not in value.lower()
        ):
            raise ValueError(
                "must be the storage account's ARM id: /subscriptions/<id>/resourceGroups/<rg>/providers/"
                "Microsoft.Storage/storageAccounts/<name>"
            )
        return value

    @field_validator("azure_storage_container_url")
    @classmethod
    def _container(cls, value: str) -> str:
        if value and not value.startswith("https://"):
            raise ValueError(
                "must be the https URL of the blob container, e.g. https://acct.blob.core.windows.net/vpnlogs"
            )
        return value.rstrip("/")

    @field_validator("alert_secret")
    @classmethod
    def _alert_secret(cls, value: str) -> str:
        if value and len(value) < 32:
            raise ValueError("must be at least 32 characters (e.g. `openssl rand -hex 32`)")
        return value

    @field_validator("alert_jwks_url")
    @classmethod
    def _jwks(cls, value: str) -> str:
        loopback = value.startswith(("http://127.0.0.1:", "http://localhost:"))
        if value and not (value.startswith("https://") or loopback):
            raise ValueError(
                "must be an https URL such as https://login.microsoftonline.com/<tenant>/discovery/v2.0/keys"
            )
        return value

    @property
    def alert_jwt_enabled(self) -> bool:
        return bool(self.alert_jwt_issuer and self.alert_jwt_audience and self.alert_jwks_url)

    @property
    def alerts_enabled(self) -> bool:
        return bool(self.alert_secret) or self.alert_jwt_enabled

    @property
    def zip_limits(self) -> ZipLimits:
        return ZipLimits(
            max_members=self.zip_max_members,
            max_member_bytes=self.zip_max_member_bytes,
            max_total_bytes=self.zip_max_total_bytes,
        )

    @property
    def retention_seconds(self) -> float:
        return self.retention_days * 86400


Role = Literal["serve", "worker", "check", "status", "audit"]

# What each role cannot run without (checked after parsing so every gap is reported at once).
_REQUIRED: dict[str, tuple[tuple[str, str], ...]] = {
    "serve": (
        ("slack_bot_token", "SLACK_BOT_TOKEN"),
        ("slack_signing_secret", "SLACK_SIGNING_SECRET"),
        # without it, names would resolve in any subscription the identity can read
        ("azure_subscription_ids", "AZURE_SUBSCRIPTION_IDS"),
    ),
    "worker": (
        ("slack_bot_token", "SLACK_BOT_TOKEN"),
        ("azure_storage_account_id", "AZURE_STORAGE_ACCOUNT_ID"),
        ("azure_storage_container_url", "AZURE_STORAGE_CONTAINER_URL"),
        ("azure_subscription_ids", "AZURE_SUBSCRIPTION_IDS"),
    ),
    "check": (
        ("azure_storage_account_id", "AZURE_STORAGE_ACCOUNT_ID"),
        ("azure_storage_container_url", "AZURE_STORAGE_CONTAINER_URL"),
        ("azure_subscription_ids", "AZURE_SUBSCRIPTION_IDS"),
    ),
    "status": (),
    "audit": (),
}


def _env_name(field: str) -> str:
    info = Settings.model_fields[field]
    alias = info.validation_alias
    if isinstance(alias, str):
        return alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return field.upper()


def load_settings(role: Role | None = None, **overrides: object) -> Settings:
    """Read and check settings; raise SettingsError listing every problem, one line each."""
    lines: list[str] = []
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        bad: dict[str, object] = {}
        by_env = {_env_name(f): f for f in Settings.model_fields}
        for err in exc.errors():
            loc = str(err["loc"][0]) if err["loc"] else "?"  # the variable's name (the alias)
            field = by_env.get(loc, loc)
            name = _env_name(field) if field in Settings.model_fields else loc
            lines.append(f"{name}: {err['msg']}")
            if field in Settings.model_fields:
                bad[name] = Settings.model_fields[field].get_default(call_default_factory=True)
        # Re-read with the wrong values set aside, so missing ones are reported in the same run.
        try:
            settings = Settings(**{**overrides, **bad})  # type: ignore[arg-type]
        except ValidationError:
            raise SettingsError("\n".join(lines)) from None
    lines += _missing(settings, role)
    if lines:
        raise SettingsError("\n".join(lines))
    return settings


def _missing(settings: Settings, role: Role | None) -> list[str]:
    lines = [
        f"{env}: required for `vpncheck {role}`"
        for attr, env in _REQUIRED.get(role or "", ())
        if not getattr(settings, attr)
    ]
    jwt_parts = (settings.alert_jwt_issuer, settings.alert_jwt_audience, settings.alert_jwks_url)
    if any(jwt_parts) and not all(jwt_parts):
        lines.append(
            "VPNCHECK_ALERT_JWT_ISSUER, VPNCHECK_ALERT_JWT_AUDIENCE, VPNCHECK_ALERT_JWKS_URL: "
            "set all three or none"
        )
    if role == "serve" and settings.slack_app_token and not settings.slack_app_token.startswith("xapp-"):
        lines.append("SLACK_APP_TOKEN: must be an app-level token starting with xapp-")
    if role == "serve" and not (settings.slack_team_ids or settings.slack_enterprise_id):
        lines.append(
            "SLACK_TEAM_IDS: required for `vpncheck serve` (or SLACK_ENTERPRISE_ID): the workspace served"
        )
    if role == "serve" and settings.metrics_port and settings.metrics_port == settings.port:
        lines.append("METRICS_PORT: must differ from PORT (health and metrics are kept off the Slack port)")
    return lines
