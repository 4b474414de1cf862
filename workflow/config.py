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


class SettingsRefused(ValueError):
    """Settings that are each valid but refused together; ``code`` and ``params`` name why.

    The message stays English for logs; the CLI words it in German (workflow/cli_errors.py).
    """

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


# The 16 Länder as the `holidays` package names their subdivisions.
Bundesland = Literal[
    "BB", "BE", "BW", "BY", "HB", "HE", "HH", "MV", "NI", "NW", "RP", "SH", "SL", "SN", "ST", "TH"
]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZIELFLOW_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    var_dir: Path = Path("var")
    database_url: str = ""
    # Connections a process keeps open (as many again are opened for a peak and closed after).
    # A request holds one for its whole run, so fewer than the requests one `zielflow serve`
    # runs at once would open and close a connection for each request above them.
    database_pool_size: int = Field(
        default=10, ge=1, le=100, description="Datenbankverbindungen, die ein Prozess offen hält"
    )
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
    # Retention (workflow/privacy/retention.py), applied by every sweep; 0 keeps forever.
    retention_sent_email_days: int = Field(
        default=0, ge=0, description="Inhalt versandter E-Mails nach so vielen Tagen löschen"
    )
    retention_archived_contact_years: int = Field(
        default=0, ge=0, description="archivierte Kontakte nach so vielen Jahren pseudonymisieren"
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
    # The sender's SMTP connections, each sending one message at a time (notifications/sender.py).
    smtp_connections: int = Field(
        default=1, ge=1, le=16, description="gleichzeitige SMTP-Verbindungen des Versands"
    )
    send_max_attempts: int = Field(default=8, ge=1)
    organisation: str = Field(default="", description="slug of the organisation the CLI acts on")
    # Accounts (workflow/sessions.py, workflow/accounts.py).
    session_idle_minutes: int = Field(
        default=60, ge=1, le=720, description="a session without a request ends after this"
    )
    api_token_days: int = Field(default=90, ge=1, le=3650, description="lifetime of new tokens")
    # Addresses whose X-Forwarded-For/-Proto `zielflow serve` believes (comma-separated IPs or
    # networks, "*" for all, "" for none); everybody else's are ignored.
    forwarded_allow_ips: str = "127.0.0.1"
    # Request bodies: refused with 413 before they are parsed (api/body_limit.py).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="JSON and form bodies")
    max_upload_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1024, description="multipart bodies (file uploads)"
    )
    # /docs from packaged assets; None means on everywhere except in production.
    api_docs: bool | None = None
    # Bounces (notifications/bounces/): each email's envelope sender is a VERP address on
    # this domain, so a report names the email it is about; empty keeps mail_from.
    bounce_domain: str = Field(default="", description="Domain der Rücklaufadressen (VERP)")
    bounce_temporary_threshold: int = Field(
        default=5,
        ge=1,
        description="vorübergehende Fehler, ab denen eine Adresse als unzustellbar gilt",
    )
    bounce_imap_host: str = Field(default="", description="IMAP-Server des Rücklaufpostfachs")
    bounce_imap_port: int = Field(default=993, ge=1, le=65535, description="Port des IMAP-Servers")
    bounce_imap_user: str = Field(default="", description="Benutzername am IMAP-Server")
    bounce_imap_password: str = Field(default="", description="Kennwort am IMAP-Server")
    bounce_imap_folder: str = Field(default="INBOX", description="Ordner mit den Rückläufern")
    bounce_imap_tls: Literal["tls", "none"] = Field(
        default="tls", description="Verbindung zum IMAP-Server verschlüsseln"
    )

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
            raise SettingsRefused(
                "send_lease_too_short",
                f"ZIELFLOW_SEND_LEASE_SECONDS must be longer than {LEASE_TIMEOUTS} x "
                "ZIELFLOW_SMTP_TIMEOUT_SECONDS",
                lease=self.send_lease_seconds,
                timeout=self.smtp_timeout_seconds,
                factor=LEASE_TIMEOUTS,
            )
        if self.environment == "production" and self.secret_key == DEV_SECRET:
            raise SettingsRefused(
                "secret_key_default",
                "ZIELFLOW_SECRET_KEY must be set to a random value in production",
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def docs_enabled(self) -> bool:
        return self.api_docs if self.api_docs is not None else self.environment != "production"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
