"""An SMTP connection that also sends ready bytes (the sender opens one per pool slot).

``SmtpConnection.send`` takes an ``EmailMessage`` and aiosmtplib flattens it again on every
send; the sender writes most messages as bytes once (notifications/mime.py), and those go
out through ``send_bytes`` with the same meaning of every failure as ``send``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence

import aiosmtplib

from notifications.smtp import PermanentFailure, SmtpConnection, TemporaryFailure


class RawSmtpConnection(SmtpConnection):
    async def send_bytes(
        self,
        data: bytes,
        *,
        sender: str,
        recipients: Sequence[str],
        before_data: Awaitable[object] | None = None,
    ) -> None:
        """Send ``data`` as it is (7-bit, CRLF); failures mapped as in ``SmtpConnection.send``.

        ``before_data`` is awaited after RCPT and before DATA, where nothing is stored yet:
        the sender finishes the previous email's bookkeeping there, while the server answers.
        """
        try:
            client = await self._connected()
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self._drop()
            raise TemporaryFailure(f"connect/login: {type(exc).__name__}: {exc}") from exc
        try:
            await client.mail(sender)
            for recipient in recipients:
                await client.rcpt(recipient)
            if before_data is not None:
                await before_data
            await client.data(data)
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset()
            if exc.code >= 500:
                raise PermanentFailure(f"{exc.code} {exc.message}") from exc
            raise TemporaryFailure(f"{exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self._drop()
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}", maybe_delivered=True) from exc
