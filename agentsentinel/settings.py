"""Server configuration: one pydantic-settings tree read from ``AGENTSENTINEL_*`` variables.

The names of the variables are a public contract (compose files and scripts rely on them); see the
README's table. Two run modes share the code: ``embedded`` (``sentinel serve``: SQLite + in-memory
bus, a generated secret kept in the data dir) and ``production`` (``sentinel api`` / ``sentinel
worker``: Postgres + Redis, an explicit secret is required).
"""

from __future__ import annotations

import os
import secrets
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from agentsentinel.alerts.urls import validate_slack_webhook_url, validate_webhook_url

DEFAULT_SECRET = "change-me"  # noqa: S105 - the value shipped in examples; refused in production
_SECRET_FILE = "secret_key"  # noqa: S105 - a file name
MIN_WEBHOOK_SECRET = 32


class RunMode(StrEnum):
    EMBEDDED = "embedded"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Every knob of the server. Field names map to ``AGENTSENTINEL_<NAME>``."""

    # populate_by_name: fields with env aliases (the alert URLs) still take their field name.
    # hide_input_in_errors: a refused value (a webhook URL, a short secret) is never echoed.
    model_config = SettingsConfigDict(
        env_prefix="AGENTSENTINEL_",
        extra="ignore",
        populate_by_name=True,
        hide_input_in_errors=True,
    )

    mode: RunMode = RunMode.EMBEDDED
    data_dir: Path = Field(default_factory=lambda: Path.home() / ".agentsentinel")
    database_url: SecretStr | None = None
    redis_url: SecretStr | None = None
    secret_key: SecretStr | None = None
    bootstrap_key_file: Path | None = None

    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    show_docs: bool | None = None
    log_level: str = "INFO"
    log_format: str = "text"  # "text" or "json"
    # Per-tool classification overrides for this deployment, by tool name (JSON object of
    # ``{"scope": ..., "capabilities": [...], "is_dangerous": ...}``); a grant's own ``override``
    # (API) wins over these.
    tool_overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # How long start-up waits for Postgres and Redis to answer before giving up (0: fail at once).
    startup_wait_s: float = Field(default=60.0, ge=0.0, le=3600.0)

    # Alerts (agentsentinel/alerts). The URLs are validated here: a bad one stops the start-up.
    alert_slack_webhook_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "AGENTSENTINEL_ALERT_SLACK_WEBHOOK_URL", "AGENTSENTINEL_SLACK_WEBHOOK_URL"
        ),
    )
    alert_webhook_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        validation_alias=AliasChoices(
            "AGENTSENTINEL_ALERT_WEBHOOK_URLS", "AGENTSENTINEL_WEBHOOK_URLS"
        ),
    )
    alert_webhook_secret: SecretStr | None = None
    alert_anomaly_threshold: float = Field(default=0.99, gt=0.0, le=1.0)
    alert_agent_limit: int = Field(default=20, ge=1, le=10_000)
    alert_agent_window_s: int = Field(default=3600, ge=60, le=7 * 86400)
    alert_max_attempts: int = Field(default=8, ge=1, le=50)
    alert_backoff_s: float = Field(default=5.0, ge=0.1, le=3600.0)
    alert_poll_interval_s: float = Field(default=1.0, ge=0.05, le=300.0)
    # Delivered, failed and suppressed alerts older than this are deleted by the dispatcher.
    alert_retention_days: int = Field(default=30, ge=1, le=36_500)

    # Event pipeline
    shard_count: int = Field(default=16, ge=1, le=1024)
    reply_timeout_ms: int = Field(default=250, ge=0, le=30_000)
    stream_maxlen: int = Field(default=1_000_000, ge=1000)
    max_deliveries: int = Field(default=5, ge=1, le=100)
    lease_ttl_ms: int = Field(default=10_000, ge=500)
    worker_batch_size: int = Field(default=500, ge=1, le=10_000)
    # Behavior engine
    # Acks wait for the checkpoint, so it must come well before the bus re-hands idle entries (5 s).
    checkpoint_interval_ms: int = Field(default=2_000, ge=100, le=4_000)
    shared_checkpoint_s: float = Field(default=30.0, ge=1.0)
    profile_refresh_s: float = Field(default=30.0, ge=0.0)
    silence_check_s: float = Field(default=60.0, ge=1.0)
    # Trust engine (agentsentinel/trust/engine.py)
    trust_weight_posture: float = Field(default=0.45, ge=0.0, le=1.0)
    trust_weight_behavior: float = Field(default=0.45, ge=0.0, le=1.0)
    trust_weight_recency: float = Field(default=0.10, ge=0.0, le=1.0)
    trust_hysteresis: float = Field(default=2.0, ge=0.0, le=20.0)
    trust_debounce_ms: int = Field(default=1_000, ge=0, le=60_000)
    trust_refresh_s: float = Field(default=300.0, ge=5.0)
    # Posture score penalties (agentsentinel/trust/engine.py): the first finding of a severity
    # costs its penalty, each further one ``trust_penalty_ratio`` times the previous one.
    trust_penalty_critical: float = Field(default=40.0, ge=0.0, le=100.0)
    trust_penalty_high: float = Field(default=20.0, ge=0.0, le=100.0)
    trust_penalty_medium: float = Field(default=8.0, ge=0.0, le=100.0)
    trust_penalty_low: float = Field(default=3.0, ge=0.0, le=100.0)
    trust_penalty_ratio: float = Field(default=0.5, ge=0.0, lt=1.0)
    # Posture scanner (agentsentinel/services/posture.py): full rescan of the worker's agents.
    posture_scan_interval_s: float = Field(default=3600.0, ge=10.0)
    redis_prefix: str = "agentsentinel"
    retention_days: int = Field(default=90, ge=1)
    future_skew_seconds: int = Field(default=300, ge=0)

    # HTTP
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    auth_failures_per_minute: int = Field(default=30, ge=1)
    session_ttl_hours: int = Field(default=12, ge=1)
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"]
    )

    # Whether this process also runs the worker services (embedded mode, tests)
    run_worker: bool | None = None

    @field_validator("tool_overrides")
    @classmethod
    def _check_tool_overrides(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        from agentsentinel.posture import ToolOverride

        for tool, override in value.items():
            try:
                ToolOverride.from_dict(override)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"tool_overrides[{tool!r}]: {exc}") from None
        return value

    @field_validator("cors_origins", "alert_webhook_urls", "trusted_proxies", mode="before")
    @classmethod
    def _split_csv(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("alert_slack_webhook_url")
    @classmethod
    def _slack_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        return SecretStr(validate_slack_webhook_url(value.get_secret_value()))

    @field_validator("alert_webhook_urls")
    @classmethod
    def _webhook_urls(cls, value: list[str]) -> list[str]:
        return [validate_webhook_url(url) for url in value]

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.alert_webhook_urls:
            secret = self.alert_webhook_secret
            value = secret.get_secret_value() if secret is not None else ""
            if len(value) < MIN_WEBHOOK_SECRET:
                raise ValueError(
                    "AGENTSENTINEL_ALERT_WEBHOOK_SECRET must be set to a random value of at least "
                    f"{MIN_WEBHOOK_SECRET} characters when alert webhook URLs are configured"
                )
        return self

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("log_level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.mode is RunMode.PRODUCTION:
            value = self.secret_key.get_secret_value() if self.secret_key else ""
            if not value or value == DEFAULT_SECRET or len(value) < 32:
                raise ValueError(
                    "AGENTSENTINEL_SECRET_KEY must be set to a random value of at least 32 "
                    "characters in production mode (e.g. `openssl rand -hex 32`)"
                )
        return self

    # Derived values -------------------------------------------------------------------------

    @property
    def embedded(self) -> bool:
        return self.mode is RunMode.EMBEDDED

    @property
    def docs_enabled(self) -> bool:
        return self.show_docs if self.show_docs is not None else self.embedded

    @property
    def worker_in_process(self) -> bool:
        return self.run_worker if self.run_worker is not None else self.embedded

    def resolved_database_url(self) -> str:
        """The SQLAlchemy async URL (plain ``postgresql://`` is accepted and made async)."""
        if self.database_url is None:
            return f"sqlite+aiosqlite:///{self.data_dir / 'agentsentinel.db'}"
        return normalise_database_url(self.database_url.get_secret_value())

    def resolved_secret(self) -> str:
        """The HMAC secret; embedded mode generates one once and keeps it in the data dir."""
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        if not self.embedded:  # unreachable: the validator refuses it
            raise RuntimeError("no secret key configured")
        return _load_or_create_secret(self.data_dir)


def normalise_database_url(url: str) -> str:
    """Map the accepted spellings onto async drivers."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite:///", "sqlite+aiosqlite:///"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


def _load_or_create_secret(data_dir: Path) -> str:
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = data_dir / _SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process is creating it: wait (briefly) for its content rather than read "".
        for _ in range(50):
            value = path.read_text().strip()
            if value:
                return value
            time.sleep(0.02)
        raise RuntimeError(
            f"{path} exists but is empty; delete it to generate a new secret"
        ) from None
    with os.fdopen(fd, "w") as handle:
        value = secrets.token_hex(32)
        handle.write(value)
    return value
