"""The actors' invitation pages behind ``/einladung/<token>``: register, decline, unsubscribe.

The token is the credential (workflow/conference/tokens.py): it opens exactly one actor's
invitation to one conference. A blocked client is refused before its token is looked up;
a wrong token gets the same page whether malformed, unknown, of another purpose or of an
invitation that does not exist. A GET never changes anything (mail scanners open links):
unsubscribing needs the button on ``/abmelden``. Never logs a token, never builds a link
from the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.csrf import require_csrf
from api.deps import PublicRoute
from api.forms import view
from api.forms.routes import FormRoute
from api.templating import render
from workflow import runtime
from workflow.catalogue.models import Organisation
from workflow.conference import invitations as service
from workflow.conference.errors import ConferenceRefused
from workflow.conference.mail import invitation_url
from workflow.conference.models import (
    Actor,
    ActorToken,
    ActorTokenPurpose,
    Conference,
    ConferenceInvitation,
    InvitationStatus,
)
from workflow.conference.tokens import verify_actor_token
from workflow.cycles.calendar import calendar_of
from workflow.db import unit_of_work
from workflow.forms.ratelimit import WINDOW, client_key, is_blocked, record_failure
from workflow.forms.tokens import TokenState
from workflow.indicators.mail import format_date

router = APIRouter(
    prefix="/einladung", include_in_schema=False, route_class=FormRoute, dependencies=[PublicRoute]
)
_POST_GUARDS = [Depends(require_csrf)]
TOKEN_LENGTH = 43
NOTICES = ("registered", "declined")


@dataclass
class Opened:
    token: ActorToken
    invitation: ConferenceInvitation
    conference: Conference
    actor: Actor
    org: Organisation


def _shaped(raw: str) -> bool:
    return len(raw) == TOKEN_LENGTH and all(c.isalnum() or c in "-_" for c in raw)


def _open(session: Session, request: Request, raw: str) -> Opened | Response:
    """The invitation the token opens, or the refusal page (counted as a failure if unknown)."""
    rt = runtime.current()
    now = rt.clock.now()
    key = client_key(rt.settings.secret_key, request.client.host if request.client else "-")
    lang = view.language(request.query_params.get("lang"), None)
    if is_blocked(session, key, now):
        response = _problem(request, lang, "forms.blocked", 429)
        response.headers["Retry-After"] = str(int(WINDOW.total_seconds()))
        return response
    state, token = (
        verify_actor_token(session, raw, purpose=ActorTokenPurpose.INVITATION, now=now)
        if _shaped(raw)
        else (TokenState.UNKNOWN, None)
    )
    found = _invitation(session, token) if token is not None else None
    if found is None or token is None:
        record_failure(session, key, now)
        return _problem(request, lang, "forms.unknown", 404)
    if state is not TokenState.VALID:
        return _problem(request, lang, "conference.expired", 410)
    token.last_used_at = now
    return Opened(token, *found)


def _invitation(
    session: Session, token: ActorToken
) -> tuple[ConferenceInvitation, Conference, Actor, Organisation] | None:
    """The token's own invitation; None when it names none of its organisation."""
    if token.conference_id is None:
        return None
    invitation = service.invitation_for(
        session, conference_id=token.conference_id, actor_id=token.actor_id
    )
    conference = session.get(Conference, token.conference_id)
    actor = session.get(Actor, token.actor_id)
    org = session.get(Organisation, token.organisation_id)
    if invitation is None or conference is None or actor is None or org is None:
        return None
    if not invitation.organisation_id == conference.organisation_id == org.id:
        return None
    return invitation, conference, actor, org


def _problem(request: Request, lang: str, key: str, status: int) -> Response:
    return render(
        request,
        "forms/problem.html",
        {"lang": lang, "_": view.translator(lang), "problem": key},
        status_code=status,
    )


def _url(raw: str, suffix: str = "", query: str = "") -> str:
    url = invitation_url(runtime.current().settings.base_url, raw)
    return url + (f"/{suffix}" if suffix else "") + (f"?{query}" if query else "")


def _lang(request: Request, opened: Opened, form: FormData | None = None) -> str:
    sent = form.get("lang") if form is not None else None
    requested = sent if isinstance(sent, str) else request.query_params.get("lang")
    return requested if requested in ("de", "en") else opened.actor.language or "de"


def _page(
    request: Request, opened: Opened, raw: str, lang: str, *, error: str = "", status: int = 200
) -> Response:
    _ = view.translator(lang)
    today = calendar_of(opened.org).local_date(runtime.current().clock.now())
    notice = request.query_params.get("notice", "")
    return render(
        request,
        "forms/conference_invitation.html",
        {
            "lang": lang,
            "_": _,
            "scope": {"organisation": opened.org},
            "conference": opened.conference,
            "actor": opened.actor,
            "invitation": opened.invitation,
            "held_on": format_date(opened.conference.held_on, lang),
            "registered": opened.invitation.status == InvitationStatus.REGISTERED.value,
            "declined": opened.invitation.status == InvitationStatus.DECLINED.value,
            "past": opened.conference.held_on < today,
            "notice": notice if notice in NOTICES else "",
            "error": error,
            "max_participants": service.MAX_PARTICIPANTS,
            "action": _url(raw, query=f"lang={lang}"),
            "unsubscribe": _url(raw, "abmelden", query=f"lang={lang}"),
            "language_links": {code: _url(raw, query=f"lang={code}") for code in ("de", "en")},
        },
        status_code=status,
    )


@router.get("/{raw}")
def invitation_page(raw: str, request: Request) -> Response:
    with unit_of_work(runtime.current().sessions) as session:
        opened = _open(session, request, raw)
        if isinstance(opened, Response):
            return opened
        return _page(request, opened, raw, _lang(request, opened))


def _participants(form: FormData) -> int:
    text = str(form.get("participants", "")).strip()
    return int(text) if text.isdigit() and len(text) <= 4 else 0


def _answer(session: Session, opened: Opened, form: FormData) -> str:
    """Records the answer; returns the notice to show."""
    rt = runtime.current()
    now = rt.clock.now()
    today = calendar_of(opened.org).local_date(now)
    common: dict[str, Any] = {
        "invitation": opened.invitation,
        "conference": opened.conference,
        "today": today,
        "now": now,
    }
    if form.get("answer") == "decline":
        service.decline(session, **common)
        return "declined"
    service.register(
        session,
        participants=_participants(form),
        remark=str(form.get("remark", ""))[: service.REMARK_LIMIT],
        **common,
    )
    return "registered"


@router.post("/{raw}", dependencies=_POST_GUARDS)
async def answer_invitation(raw: str, request: Request) -> Response:
    form = await request.form()
    with unit_of_work(runtime.current().sessions) as session:
        opened = _open(session, request, raw)
        if isinstance(opened, Response):
            return opened
        lang = _lang(request, opened, form)
        try:
            notice = _answer(session, opened, form)
        except ConferenceRefused as refused:
            error = view.translator(lang)(f"conference.error.{refused.code}", **refused.params)
            return _page(request, opened, raw, lang, error=error, status=422)
        return RedirectResponse(_url(raw, query=f"lang={lang}&notice={notice}"), status_code=303)


def _unsubscribe_page(
    request: Request, opened: Opened, raw: str, lang: str, *, done: bool
) -> Response:
    return render(
        request,
        "forms/conference_unsubscribe.html",
        {
            "lang": lang,
            "_": view.translator(lang),
            "scope": {"organisation": opened.org},
            "actor": opened.actor,
            "done": done,
            "contact_email": opened.org.contact_email or runtime.current().settings.mail_from,
            "action": _url(raw, "abmelden", query=f"lang={lang}"),
            "back": _url(raw, query=f"lang={lang}"),
            "language_links": {
                code: _url(raw, "abmelden", query=f"lang={code}") for code in ("de", "en")
            },
        },
    )


@router.get("/{raw}/abmelden")
def unsubscribe_page(raw: str, request: Request) -> Response:
    with unit_of_work(runtime.current().sessions) as session:
        opened = _open(session, request, raw)
        if isinstance(opened, Response):
            return opened
        return _unsubscribe_page(request, opened, raw, _lang(request, opened), done=False)


@router.post("/{raw}/abmelden", dependencies=_POST_GUARDS)
async def unsubscribe(raw: str, request: Request) -> Response:
    form = await request.form()
    with unit_of_work(runtime.current().sessions) as session:
        opened = _open(session, request, raw)
        if isinstance(opened, Response):
            return opened
        service.unsubscribe(session, actor=opened.actor, now=runtime.current().clock.now())
        return _unsubscribe_page(request, opened, raw, _lang(request, opened, form), done=True)
