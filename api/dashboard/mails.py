"""The demo's mail viewer: lists and shows the caught mails the viewer may read; writes nothing.

Outside the ``development`` environment every route here answers 404, whatever folder
exists; who may read which mail is decided in ``api.dashboard.mail_access``.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.dashboard.common import page
from api.dashboard.mail_access import readable, viewer_enabled
from api.dashboard.page_error import PageError, not_found
from api.deps import Coordinator, SessionDep
from notifications.models import OutboxMessage
from workflow import runtime
from workflow.privacy.retention import pruned_after

router = APIRouter(include_in_schema=False)
NAME = re.compile(r"^[0-9]+-[0-9]+\.eml$")
SHOWN = 200
# Only the newest files are looked at, so a long-running demo never makes the page slow.
SCANNED = 5000
BATCH = 200


@dataclass(frozen=True)
class CaughtMail:
    name: str
    to: str
    subject: str
    sent: datetime | None  # None: no Date header, or one nobody can read


def _sink() -> Path | None:
    """The sink folder, None if there is none yet; 404 unless the viewer is on at all."""
    settings = runtime.current().settings
    if not viewer_enabled(settings):
        raise PageError(404, "not_found", "http.not_found")
    sink = settings.mail_sink_dir
    return sink if sink is not None and sink.is_dir() else None


def _headers(path: Path) -> EmailMessage:
    with path.open("rb") as fh:
        message = BytesHeaderParser(policy=email.policy.default).parse(fh)
    assert isinstance(message, EmailMessage)
    return message


def _parse(path: Path) -> EmailMessage:
    with path.open("rb") as fh:
        message = email.message_from_binary_file(fh, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _sent(message: EmailMessage) -> datetime | None:
    """The Date header as a moment, for the page to write in the reader's local time."""
    try:
        moment = parsedate_to_datetime(str(message["Date"] or ""))
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else None


def _message_id(message: EmailMessage) -> str:
    return str(message["Message-ID"] or "").strip()


def _pruned_days(session: Session, message_id: str) -> int | None:
    """After how many days retention deleted the content of the mail's rows, None if it did not."""
    contexts = session.scalars(
        select(OutboxMessage.context).where(OutboxMessage.message_id == message_id)
    )
    return max((d for c in contexts if (d := pruned_after(c)) is not None), default=None)


def _shown_headers(message: EmailMessage, *, pruned: bool) -> list[tuple[str, str]]:
    headers = [(h, str(message[h] or "")) for h in ("From", "To", "Subject")]
    if not pruned:
        return headers
    # The file still holds the recipient's name; once pruned, only the address is kept.
    to = ", ".join(a.addr_spec for a in getattr(message["To"], "addresses", ()))
    return [(h, to if h == "To" else v) for h, v in headers]


@router.get("/mails", response_class=HTMLResponse)
def mails(request: Request, user: Coordinator, session: SessionDep) -> HTMLResponse:
    sink = _sink()
    files = sorted(sink.glob("*.eml"), reverse=True)[:SCANNED] if sink else []
    caught: list[CaughtMail] = []
    for start in range(0, len(files), BATCH):
        batch = [(path, _headers(path)) for path in files[start : start + BATCH]]
        allowed = readable(session, user=user, message_ids=(_message_id(m) for _, m in batch))
        caught.extend(
            CaughtMail(
                path.name,
                str(message["To"] or ""),
                str(message["Subject"] or ""),
                _sent(message),
            )
            for path, message in batch
            if _message_id(message) in allowed
        )
        if len(caught) >= SHOWN:
            break
    return page(request, "dashboard/mails.html", user, mails=caught[:SHOWN], sink=str(sink or ""))


@router.get("/mails/{name}", response_class=HTMLResponse)
def mail(request: Request, name: str, user: Coordinator, session: SessionDep) -> HTMLResponse:
    sink = _sink()
    missing = not_found("email")
    if sink is None or not NAME.match(name) or not (sink / name).is_file():
        raise missing
    message = _parse(sink / name)
    if _message_id(message) not in readable(session, user=user, message_ids=[_message_id(message)]):
        raise missing  # the same answer as for no file: never confirm that a mail exists
    pruned = _pruned_days(session, _message_id(message))
    # The sink's file outlives the database's retention: its content is not shown either.
    body = message.get_body(preferencelist=("plain", "html")) if pruned is None else None
    text = body.get_content() if body is not None else ""
    return page(
        request,
        "dashboard/mail.html",
        user,
        mail_name=name,
        headers=_shown_headers(message, pruned=pruned is not None),
        sent=_sent(message),
        text=text,
        pruned_days=pruned,
    )
