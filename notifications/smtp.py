"""One reused SMTP connection (aiosmtplib), with STARTTLS or TLS and login when configured."""

from __future__ import annotations

from email.message import EmailMessage
from types import TracebackType

import aiosmtplib

from workflow.config import Settings


class PermanentFailure(Exception):
    """The server refused for good (5xx): retrying the same message cannot help."""


class TemporaryFailure(Exception):
    """Try again later: 4xx, a timeout, a dropped connection, a server that is down.

    ``maybe_delivered``: the transaction broke off without a clear answer (a timeout or a
    dropped connection while sending), so the server may have stored the message already.
    """

    def __init__(self, message: str, *, maybe_delivered: bool = False) -> None:
        super().__init__(message)
        self.maybe_delivered = maybe_delivered


class SmtpConnection:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: aiosmtplib.SMTP | None = None

    async def __aenter__(self) -> SmtpConnection:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            timeout=s.smtp_timeout_seconds,
            use_tls=s.smtp_tls == "tls",
            start_tls=s.smtp_tls == "starttls",
            cert_bundle=str(s.smtp_ca_file) if s.smtp_ca_file else None,
        )
        self._client = client  # so that a failed login below still closes the connection
        await client.connect()
        if s.smtp_user:
            await client.login(s.smtp_user, s.smtp_password)
        return client

    async def send(self, message: EmailMessage, *, sender: str | None = None) -> None:
        """``sender``: the envelope sender (MAIL FROM); None takes the From header's address."""
        try:
            client = await self._connected()
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            # A server that is down or refuses our login says nothing about this message:
            # it stays queued (and the operator sees the error), it is never dead-lettered.
            await self._drop()
            raise TemporaryFailure(f"connect/login: {type(exc).__name__}: {exc}") from exc
        try:
            errors, _ = await client.send_message(message, sender=sender)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            await self._reset()
            if all(c >= 500 for c in codes):
                raise PermanentFailure(str(exc)) from exc
            raise TemporaryFailure(str(exc)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset()
            if exc.code >= 500:
                raise PermanentFailure(f"{exc.code} {exc.message}") from exc
            raise TemporaryFailure(f"{exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self._drop()
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}", maybe_delivered=True) from exc
        if errors:
            raise PermanentFailure(f"refused: {errors}")

    async def _reset(self) -> None:
        # After a refused transaction the connection is still good; RSET readies it for the next.
        if self._client is not None and self._client.is_connected:
            try:
                await self._client.rset()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                await self._drop()

    async def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = None

    async def close(self) -> None:
        if self._client is not None and self._client.is_connected:
            try:
                await self._client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                self._client.close()
        self._client = None
