"""Typed settings read from ``ZIELFLOW_*`` environment variables; never reads files of secrets itself."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-insecure-secret-change-me"
# Connect, EHLO, STARTTLS, login, MAIL, RCPT, DATA, end of data: each has its own timeout.
LEASE_TIMEOUTS = 8

# The 16 Länder as the `holidays` package names their subdivisions.
Bundesland = Literal[
    "BB", "BE", "BW", "BY", "HB", "HE", "HH", "MV", "NI", "NW", "RP", "SH", "SL", "SN", "ST", "TH"
]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZIELFLOW_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    var_dir: Path = Path("var")
    database_url: str = ""
    broker_url: str = ""
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    smtp_timeout_seconds: float = 30.0
    smtp_ca_file: Path | None = Field(
        default=None,
        description="CA bundle to verify the SMTP server's certificate (default: system)",
    )
    mail_from: str = "zielflow@localhost"
    mail_sink_dir: Path | None = None
    base_url: str = "http://127.0.0.1:8000"
    timezone: str = "Europe/Berlin"
    state: Bundesland = "NW"
    secret_key: str = DEV_SECRET
    sweep_interval_seconds: int = Field(default=300, ge=1)
    send_interval_seconds: int = Field(default=60, ge=1)
    sweep_batch_size: int = Field(default=500, ge=1)
    send_batch_size: int = Field(default=200, ge=1)
    send_lease_seconds: int = Field(default=300, ge=10)
    send_max_attempts: int = Field(default=8, ge=1)
    organisation: str = Field(default="", description="slug of the organisation the CLI acts on")

    @model_validator(mode="after")
    def _defaults_and_secrets(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.var_dir / 'zielflow.sqlite3').as_posix()}"
        if not self.broker_url:
            self.broker_url = f"sqla+sqlite:///{(self.var_dir / 'broker.sqlite3').as_posix()}"
        if self.mail_sink_dir is None:
            self.mail_sink_dir = self.var_dir / "mail"
        if self.send_lease_seconds <= LEASE_TIMEOUTS * self.smtp_timeout_seconds:
            # The lease must outlast the slowest possible email (every SMTP command of one
            # message timing out just short of the limit), or a second worker could send it too.
            raise ValueError(
                f"ZIELFLOW_SEND_LEASE_SECONDS must be longer than {LEASE_TIMEOUTS} x "
                "ZIELFLOW_SMTP_TIMEOUT_SECONDS"
            )
        if self.environment == "production" and self.secret_key == DEV_SECRET:
            raise ValueError("ZIELFLOW_SECRET_KEY must be set to a random value in production")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
