"""The mails the local SMTP sink caught (demo and tests): list and read; reads files, writes none."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.dashboard.common import page
from api.deps import Coordinator
from api.errors import ApiError
from workflow import runtime

router = APIRouter(include_in_schema=False)
NAME = re.compile(r"^[0-9]+-[0-9]+\.eml$")
SHOWN = 200


@dataclass(frozen=True)
class CaughtMail:
    name: str
    to: str
    subject: str
    date: str


def _sink() -> Path | None:
    sink = runtime.current().settings.mail_sink_dir
    return sink if sink is not None and sink.is_dir() else None


def _parse(path: Path) -> EmailMessage:
    with path.open("rb") as fh:
        message = email.message_from_binary_file(fh, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


@router.get("/mails", response_class=HTMLResponse)
def mails(request: Request, user: Coordinator) -> HTMLResponse:
    sink = _sink()
    files = sorted(sink.glob("*.eml"), reverse=True)[:SHOWN] if sink else []
    caught = []
    for path in files:
        message = _parse(path)
        caught.append(
            CaughtMail(
                path.name,
                str(message["To"] or ""),
                str(message["Subject"] or ""),
                str(message["Date"] or ""),
            )
        )
    return page(request, "dashboard/mails.html", user, mails=caught, sink=str(sink or ""))


@router.get("/mails/{name}", response_class=HTMLResponse)
def mail(request: Request, name: str, user: Coordinator) -> HTMLResponse:
    sink = _sink()
    if sink is None or not NAME.match(name) or not (sink / name).is_file():
        raise ApiError(404, "not_found", "Diese E-Mail gibt es nicht.")
    message = _parse(sink / name)
    body = message.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if body is not None else ""
    return page(
        request,
        "dashboard/mail.html",
        user,
        mail_name=name,
        headers=[(h, str(message[h] or "")) for h in ("From", "To", "Subject", "Date")],
        text=text,
    )
