"""What every dashboard page needs: the layout context, safe redirects, flash messages."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import object_session

from api import formats
from api.dashboard.mail_access import viewer_enabled
from api.deps import can_act
from api.i18n import language_of, translate
from api.templating import render
from workflow import runtime
from workflow.accounts import User
from workflow.catalogue.models import Organisation
from workflow.machine import State

PHASES: tuple[State, ...] = tuple(State)
FORM_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def fmt_date(day: date | None) -> str:
    """A day as a German form field takes it back (the council paper's consultation dates)."""
    return day.strftime("%d.%m.%Y") if day else "–"


def timezone_of(user: User | None) -> str:
    """The reader's organisation's time zone; the setting's before anyone has signed in."""
    session = object_session(user) if user is not None else None
    org = session.get(Organisation, user.organisation_id) if session and user else None
    return org.timezone if org is not None else runtime.current().settings.timezone


def page(
    request: Request,
    template: str,
    user: User | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    flash = request.session.pop("flash", None) if "session" in request.scope else None
    lang = language_of(request)
    timezone = timezone_of(user)

    def label(prefix: str, value: object) -> str:
        """The translation of ``prefix.value``, or the raw value for one nobody named yet."""
        key = f"{prefix}.{value}"
        text = translate(key, lang)
        return str(value) if text == key else text

    return render(
        request,
        template,
        {
            "user": user,
            "can_act": bool(user and can_act(user)),
            "mail_viewer": viewer_enabled(runtime.current().settings),
            "flash": flash,
            # What a person reads: in the page's language, times in the organisation's zone.
            "fmt_datetime": lambda moment: formats.moment(moment, lang, timezone),
            "fmt_date": lambda day: formats.day(day, lang),
            "fmt_number": lambda value, places=0: formats.number(value, places, lang),
            "path": request.url.path,
            "label": label,
            **context,
        },
        status_code=status_code,
        headers=FORM_HEADERS,
    )


def safe_next(target: str | None, default: str = "/pipeline") -> str:
    """Only paths on this site: never redirect a visitor elsewhere after login."""
    if not target:
        return default
    # Browsers read "/\\host" as "//host", and strip tabs and line breaks before parsing.
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def flash(request: Request, key: str) -> None:
    """A translation key shown once on the next page."""
    request.session["flash"] = key
