"""The Integrationskonferenz pages of the coordinators: ``/akteure`` and ``/konferenzen``.

The directory of actors (add, edit, archive; consents recorded and withdrawn with date,
purpose and how), the conferences (list, create) and one conference with its invitations and
the "Einladungen senden" button. Every change goes through workflow/conference/; a refused
entry shows the page again with what was typed and the reason, and nothing is saved.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.csrf import require_csrf
from api.dashboard.common import RowId, flash, page, redirect
from api.dashboard.page_error import not_found
from api.deps import Coordinator, SessionDep, actor_of, organisation_of, today_of
from api.i18n import language_of, translate
from workflow import runtime
from workflow.accounts import User
from workflow.conference import actors as actor_service
from workflow.conference import conferences as conference_service
from workflow.conference import consent as consent_service
from workflow.conference import invitations as invitation_service
from workflow.conference.errors import ConferenceRefused
from workflow.conference.models import Actor, ActorKind, Conference, ConsentPurpose
from workflow.forms.validation import parse_date

router = APIRouter(include_in_schema=False)
ACTOR_FIELDS = ("name", "kind", "contact_name", "email", "phone", "notes", "language")
CONFERENCE_FIELDS = ("title", "held_on", "time_label", "place", "description")
MAX_TYPED = 5000
CSRF = [Depends(require_csrf)]


def _typed(form: FormData, names: tuple[str, ...]) -> dict[str, str]:
    return {name: str(form.get(name, ""))[:MAX_TYPED] for name in names}


def _problem(request: Request, refused: ConferenceRefused) -> str:
    return translate(f"conference.error.{refused.code}", language_of(request), **refused.params)


def _day(text: str) -> date:
    day = parse_date(text)
    if day is None:
        raise ConferenceRefused("date_invalid")
    return day


def _show(
    request: Request, template: str, user: User, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A page of this area; its texts live in api/locales/conference.*.json, read as ``t``."""
    lang = language_of(request)
    return page(
        request,
        template,
        user,
        status_code=status_code,
        t=lambda key, **values: translate(key, lang, **values),
        **context,
    )


def _now() -> Any:
    return runtime.current().clock.now()


def _actor(session: Session, user: User, actor_id: int) -> Actor:
    actor = session.get(Actor, actor_id)
    if actor is None or actor.organisation_id != user.organisation_id:
        raise not_found("entry", organisation_of(session, user))
    return actor


def _conference(session: Session, user: User, conference_id: int) -> Conference:
    conference = session.get(Conference, conference_id)
    if conference is None or conference.organisation_id != user.organisation_id:
        raise not_found("entry", organisation_of(session, user))
    return conference


# -- actors ---------------------------------------------------------------------------------


def _actors_page(
    request: Request,
    session: Session,
    user: User,
    typed: Mapping[str, str] | None = None,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    show_archived = request.query_params.get("archiviert") == "1"
    actors = actor_service.list_actors(
        session, organisation_id=user.organisation_id, archived=show_archived
    )
    today = today_of(organisation_of(session, user))
    consent_days = {
        a.id: min(
            (
                c.given_on
                for c in consent_service.live_consents(
                    session, actor=a, purpose=ConsentPurpose.INVITATIONS.value
                )
                if c.given_on <= today
            ),
            default=None,
        )
        for a in actors
    }
    return _show(
        request,
        "dashboard/conference_actors.html",
        user,
        status_code=status_code,
        actors=actors,
        consent_days=consent_days,
        show_archived=show_archived,
        typed=typed or {"kind": ActorKind.PROVIDER.value, "language": "de"},
        error=error,
        kinds=[k.value for k in ActorKind],
        languages=actor_service.LANGUAGES,
    )


@router.get("/akteure", response_class=HTMLResponse)
def actors(request: Request, user: Coordinator, session: SessionDep) -> HTMLResponse:
    return _actors_page(request, session, user)


@router.post("/akteure", response_class=HTMLResponse, dependencies=CSRF)
async def add_actor(request: Request, user: Coordinator, session: SessionDep) -> Response:
    typed = _typed(await request.form(), ACTOR_FIELDS)
    try:
        actor = actor_service.add_actor(
            session, organisation_id=user.organisation_id, now=_now(), **typed
        )
    except ConferenceRefused as refused:
        return _actors_page(request, session, user, typed, _problem(request, refused), 422)
    flash(request, "conference.actors.added")
    return redirect(f"/akteure/{actor.id}")


def _actor_page(
    request: Request,
    session: Session,
    user: User,
    actor: Actor,
    typed: Mapping[str, str] | None = None,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    today = today_of(organisation_of(session, user))
    return _show(
        request,
        "dashboard/conference_actor.html",
        user,
        status_code=status_code,
        actor=actor,
        consents=consent_service.consents_of(session, actor=actor),
        typed=typed or {k: str(getattr(actor, k)) for k in ACTOR_FIELDS},
        error=error,
        kinds=[k.value for k in ActorKind],
        languages=actor_service.LANGUAGES,
        purposes=[p.value for p in ConsentPurpose],
        today=today.isoformat(),
    )


def _actor_saved(
    request: Request,
    session: Session,
    user: User,
    actor: Actor,
    change: Callable[[], object],
    done: str,
    typed: Mapping[str, str] | None = None,
) -> Response:
    """Runs ``change`` on the actor and flashes ``done``; a refusal shows the actor's page
    again with what was typed and the reason."""
    try:
        change()
    except ConferenceRefused as refused:
        return _actor_page(request, session, user, actor, typed, _problem(request, refused), 422)
    flash(request, done)
    return redirect(f"/akteure/{actor.id}")


@router.get("/akteure/{actor_id}", response_class=HTMLResponse)
def actor_page(
    request: Request, actor_id: RowId, user: Coordinator, session: SessionDep
) -> HTMLResponse:
    return _actor_page(request, session, user, _actor(session, user, actor_id))


@router.post("/akteure/{actor_id}", response_class=HTMLResponse, dependencies=CSRF)
async def edit_actor(
    request: Request, actor_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    actor = _actor(session, user, actor_id)
    typed = _typed(await request.form(), ACTOR_FIELDS)
    return _actor_saved(
        request,
        session,
        user,
        actor,
        lambda: actor_service.edit_actor(session, actor=actor, **typed),
        "conference.actor.saved",
        typed,
    )


@router.post("/akteure/{actor_id}/archivieren", dependencies=CSRF)
def archive_actor(
    actor_id: RowId, request: Request, user: Coordinator, session: SessionDep
) -> Response:
    actor_service.archive_actor(session, actor=_actor(session, user, actor_id), now=_now())
    flash(request, "conference.actor.archived")
    return redirect("/akteure")


@router.post("/akteure/{actor_id}/einwilligungen", response_class=HTMLResponse, dependencies=CSRF)
async def record_consent(
    request: Request, actor_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    actor = _actor(session, user, actor_id)
    form = await request.form()

    def record() -> None:
        consent_service.record_consent(
            session,
            actor=actor,
            purpose=str(form.get("purpose", "")),
            given_on=_day(str(form.get("given_on", ""))),
            how=str(form.get("how", ""))[:MAX_TYPED],
            recorded_by=actor_of(user),
            today=today_of(organisation_of(session, user)),
            now=_now(),
        )

    return _actor_saved(request, session, user, actor, record, "conference.consent.recorded")


@router.post(
    "/akteure/{actor_id}/einwilligungen/widerrufen", response_class=HTMLResponse, dependencies=CSRF
)
async def withdraw_consent(
    request: Request, actor_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    actor = _actor(session, user, actor_id)
    form = await request.form()

    def withdraw() -> None:
        withdrawn = consent_service.withdraw_consent(
            session,
            actor=actor,
            purpose=str(form.get("purpose", "")),
            how=str(form.get("how", ""))[:MAX_TYPED] or actor_of(user),
            now=_now(),
        )
        if not withdrawn:
            raise ConferenceRefused("no_consent")

    return _actor_saved(
        request, session, user, actor, withdraw, "conference.consent.withdrawn_done"
    )


# -- conferences ----------------------------------------------------------------------------


def _conferences_page(
    request: Request,
    session: Session,
    user: User,
    typed: Mapping[str, str] | None = None,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    found = conference_service.list_conferences(session, organisation_id=user.organisation_id)
    return _show(
        request,
        "dashboard/conferences.html",
        user,
        status_code=status_code,
        conferences=[
            (c, invitation_service.registered_count(session, conference=c)) for c in found
        ],
        typed=typed or {},
        error=error,
    )


@router.get("/konferenzen", response_class=HTMLResponse)
def conferences(request: Request, user: Coordinator, session: SessionDep) -> HTMLResponse:
    return _conferences_page(request, session, user)


@router.post("/konferenzen", response_class=HTMLResponse, dependencies=CSRF)
async def create_conference(request: Request, user: Coordinator, session: SessionDep) -> Response:
    typed = _typed(await request.form(), CONFERENCE_FIELDS)
    try:
        conference = conference_service.create_conference(
            session,
            organisation_id=user.organisation_id,
            title=typed["title"],
            held_on=_day(typed["held_on"]),
            place=typed["place"],
            time_label=typed["time_label"],
            description=typed["description"],
            created_by=actor_of(user),
            now=_now(),
        )
    except ConferenceRefused as refused:
        return _conferences_page(request, session, user, typed, _problem(request, refused), 422)
    flash(request, "conference.conferences.created")
    return redirect(f"/konferenzen/{conference.id}")


def _counts(query: Mapping[str, str]) -> dict[str, int] | None:
    """The result of the last send run, carried in the address (a flash holds only a key)."""
    names = ("invited", "already", "without_consent", "without_address")
    if not all(query.get(n, "").isdigit() for n in names):
        return None
    return {n: int(query[n]) for n in names}


@router.get("/konferenzen/{conference_id}", response_class=HTMLResponse)
def conference_page(
    request: Request, conference_id: RowId, user: Coordinator, session: SessionDep
) -> HTMLResponse:
    conference = _conference(session, user, conference_id)
    actors_registered, people = invitation_service.registered_count(session, conference=conference)
    return _show(
        request,
        "dashboard/conference.html",
        user,
        conference=conference,
        invitations=invitation_service.invitations_of(session, conference=conference),
        actors_registered=actors_registered,
        people=people,
        past=conference.held_on < today_of(organisation_of(session, user)),
        sent=_counts(request.query_params),
    )


@router.post("/konferenzen/{conference_id}/einladungen", dependencies=CSRF)
def send_invitations(conference_id: RowId, user: Coordinator, session: SessionDep) -> Response:
    conference = _conference(session, user, conference_id)
    try:
        result = invitation_service.invite(
            session,
            conference=conference,
            today=today_of(organisation_of(session, user)),
            now=_now(),
            by=actor_of(user),
        )
    except ConferenceRefused:
        return redirect(f"/konferenzen/{conference.id}")  # past: the page says so
    query = (
        f"invited={result.invited}&already={result.already_invited}"
        f"&without_consent={result.without_consent}&without_address={result.without_address}"
    )
    return redirect(f"/konferenzen/{conference.id}?{query}")
