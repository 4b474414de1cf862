"""The bodies pages: /gremien (list, create), /gremien/{id} (members, history, settings) and
/gremien/{id}/mitglieder/{m}/bearbeiten (correcting a current member).

Everyone signed in reads; coordinators and admins create, change, add and end memberships.
A refused entry shows the page again with what was typed and the reason; nothing is saved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.body_text import error_status, error_text, fmt_day, plural, rule_text, shortfall_text
from api.csrf import require_csrf
from api.dashboard.body_forms import (
    BODY_FIELDS,
    MEMBER_FIELDS,
    day_of,
    field_ids_as_typed,
    field_ids_from,
    rules_from,
    typed_values,
    whole_number,
)
from api.dashboard.common import RowId, flash, page, redirect
from api.dashboard.page_error import PageError, not_found
from api.deps import Coordinator, Reader, SessionDep, organisation_of, today_of
from api.i18n import language_of, translate
from workflow.accounts import User
from workflow.bodies import members, queries, service
from workflow.bodies.checks import LANGUAGES, UNSET
from workflow.bodies.errors import BodyError
from workflow.bodies.models import (
    Body,
    BodyKind,
    BodyMember,
    BodyScope,
    DigestCadence,
    MemberRole,
    Represents,
)
from workflow.catalogue.models import Field, Organisation
from workflow.district.rollup import is_district, towns_of
from workflow.meetings.queries import body_meetings
from workflow.salutation import SALUTATIONS

router = APIRouter(include_in_schema=False)


def _words(request: Request) -> dict[str, Callable[..., str]]:
    lang = language_of(request)
    return {
        # Texts of api/locales/bodies.*.json; "_" stays the dashboard catalogue's (base.html).
        "t": lambda key, **values: translate(key, lang, **values),
        "plural": lambda key, n, **values: plural(key, n, lang, **values),
        "shortfall": lambda s: shortfall_text(s, lang),
        "rule": lambda represents, n: rule_text(represents, n, lang),
        "day": lambda d: fmt_day(d, lang),
    }


def _choices() -> dict[str, Any]:
    return {
        "kinds": [k.value for k in BodyKind],
        "scopes": [s.value for s in BodyScope],
        "cadences": [c.value for c in DigestCadence],
        "represents": [r.value for r in Represents],
        "roles": [r.value for r in MemberRole],
        "languages": list(LANGUAGES),
        "salutations": list(SALUTATIONS),
    }


def _towns(session: Session, body: Body) -> list[Organisation]:
    """The towns a member of ``body`` may speak for: those of its district, if it is one."""
    org = session.get(Organisation, body.organisation_id)
    if org is None or not is_district(org):
        return []
    return [t for t in towns_of(session, org) if t.archived_at is None]


def _fields(session: Session, user: User) -> list[Field]:
    return list(
        session.scalars(
            select(Field).where(Field.organisation_id == user.organisation_id).order_by(Field.code)
        )
    )


# --- /gremien -------------------------------------------------------------------------------


def _list_page(
    request: Request,
    session: Session,
    user: User,
    *,
    typed: dict[str, str] | None = None,
    typed_rules: dict[str, str] | None = None,
    typed_fields: list[int] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    today = today_of(organisation_of(session, user))
    rows = [
        queries.summary(session, body=b, day=today)
        for b in queries.bodies_of(session, organisation_id=user.organisation_id)
    ]
    return page(
        request,
        "dashboard/bodies.html",
        user,
        status_code=status_code,
        rows=rows,
        fields=_fields(session, user),
        typed=typed or {"kind": BodyKind.STEERING_GROUP.value, "scope": "all"},
        typed_rules=typed_rules or {},
        typed_fields=typed_fields or [],
        error=error,
        **_choices(),
        **_words(request),
    )


@router.get("/gremien", response_class=HTMLResponse)
def bodies_page(request: Request, user: Reader, session: SessionDep) -> HTMLResponse:
    return _list_page(request, session, user)


@router.post("/gremien", response_class=HTMLResponse, dependencies=[Depends(require_csrf)])
async def create_body(request: Request, user: Coordinator, session: SessionDep) -> Response:
    form = await request.form()
    typed = typed_values(form, BODY_FIELDS)
    typed_rules = {r.value: str(form.get(f"rule_{r.value}", ""))[:20] for r in Represents}
    try:
        with session.begin_nested():  # a refusal halfway leaves nothing behind
            body = service.create_body(
                session=session,
                organisation_id=user.organisation_id,
                name=typed["name"],
                kind=typed["kind"],
                scope=typed["scope"] or BodyScope.ALL_FIELDS.value,
                field_ids=field_ids_from(form),
                digest_cadence=typed["digest_cadence"] or None,
                meetings_per_year=whole_number(typed["meetings_per_year"]),
                rules=rules_from(form),
            )
    except BodyError as exc:
        return _list_page(
            request,
            session,
            user,
            typed=typed,
            typed_rules=typed_rules,
            typed_fields=field_ids_as_typed(form),
            error=error_text(exc, language_of(request)),
            status_code=error_status(exc),
        )
    flash(request, "bodies.created")
    return redirect(f"/gremien/{body.id}")


# --- /gremien/{id} --------------------------------------------------------------------------


def _body(session: Session, user: User, body_id: int) -> Body:
    try:
        return queries.get_body(session, organisation_id=user.organisation_id, body_id=body_id)
    except BodyError:
        raise not_found("body") from None


def _body_page(
    request: Request,
    session: Session,
    user: User,
    body: Body,
    *,
    error: str | None = None,
    failed: str | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    today = today_of(organisation_of(session, user))
    s = queries.summary(session, body=body, day=today)
    fields = _fields(session, user)
    names = {m.id: m.name for m in [*s.current, *s.upcoming, *s.former]}
    return page(
        request,
        "dashboard/body.html",
        user,
        status_code=status_code,
        s=s,
        body=body,
        today=today,
        fields=fields,
        scope_fields=[f for f in fields if f.id in s.field_ids],
        names=names,
        principals=[m for m in s.current if m.role != MemberRole.DEPUTY.value],
        meetings=body_meetings(session, body_id=body.id, today=today),
        towns=_towns(session, body),
        error=error,
        failed=failed,
        typed=typed or {},
        **_choices(),
        **_words(request),
    )


@router.get("/gremien/{body_id}", response_class=HTMLResponse)
def body_page(request: Request, body_id: RowId, user: Reader, session: SessionDep) -> HTMLResponse:
    return _body_page(request, session, user, _body(session, user, body_id))


async def _act(
    request: Request,
    session: Session,
    user: User,
    body_id: int,
    action: str,
    names: tuple[str, ...],
    change: Callable[[Body, FormData, dict[str, str]], object],
    done: str,
) -> Response:
    """Run one change of a body's page; on refusal show the page again with the reason."""
    body = _body(session, user, body_id)
    form = await request.form()
    typed = typed_values(form, names)
    try:
        with session.begin_nested():  # a refusal halfway leaves nothing behind
            change(body, form, typed)
    except BodyError as exc:
        session.expire_all()  # show what is stored, not what the refused change set
        return _body_page(
            request,
            session,
            user,
            body,
            error=error_text(exc, language_of(request)),
            failed=action,
            typed=typed,
            status_code=error_status(exc) if not exc.not_found else 422,
        )
    flash(request, done)
    return redirect(f"/gremien/{body_id}")


@router.post(
    "/gremien/{body_id}/einstellungen",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def change_settings(
    request: Request, body_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    def change(body: Body, form: FormData, typed: dict[str, str]) -> None:
        service.update_body(
            session=session,
            body=body,
            name=typed["name"],
            kind=typed["kind"] or None,
            scope=typed["scope"] or None,
            field_ids=field_ids_from(form),
            digest_cadence=typed["digest_cadence"] or None,
            meetings_per_year=whole_number(typed["meetings_per_year"]),
            rules=rules_from(form),
        )

    return await _act(
        request, session, user, body_id, "settings", BODY_FIELDS, change, "body.settings_saved"
    )


@router.post(
    "/gremien/{body_id}/mitglieder",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def add_member(
    request: Request, body_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    today = today_of(organisation_of(session, user))

    def change(body: Body, form: FormData, typed: dict[str, str]) -> None:
        deputy_of = whole_number(typed["deputy_of"])
        joined_on = day_of(typed["joined_on"])
        members.add_member(
            session=session,
            body=body,
            name=typed["name"],
            email=typed["email"],
            today=today,
            language=typed["language"] or "de",
            salutation=typed["salutation"],
            represents=typed["represents"] or None,
            represents_name=typed["represents_name"],
            role=typed["role"] or MemberRole.MEMBER.value,
            deputy_of=deputy_of,
            joined_on=joined_on or UNSET,
            represents_town=typed["represents_town"] or None,
        )

    return await _act(
        request, session, user, body_id, "add", MEMBER_FIELDS, change, "body.member_added"
    )


@router.post(
    "/gremien/{body_id}/mitglieder/{member_id}/beenden",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def end_member(
    request: Request, body_id: RowId, member_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    today = today_of(organisation_of(session, user))

    def change(body: Body, form: FormData, typed: dict[str, str]) -> None:
        member = queries.member_of(session, body=body, member_id=member_id)
        members.end_membership(session=session, member=member, on=day_of(typed["on"]) or today)

    return await _act(
        request, session, user, body_id, f"end-{member_id}", ("on",), change, "body.ended"
    )


# --- /gremien/{id}/mitglieder/{m}/bearbeiten ------------------------------------------------

# What the edit form sends: the add form's fields without the start date (the history).
EDIT_FIELDS = tuple(f for f in MEMBER_FIELDS if f != "joined_on")


def _open_member(session: Session, body: Body, member_id: int) -> BodyMember:
    """A membership of ``body`` that has not ended: only those can be corrected."""
    try:
        member = queries.member_of(session, body=body, member_id=member_id)
    except BodyError:
        raise _no_open_member() from None
    if member.left_on is not None:
        raise _no_open_member()
    return member


def _no_open_member() -> PageError:
    # One sentence for "not there" and "ended": only open memberships have a form.
    return PageError(404, "not_found", "not_found.body_member")


def _as_stored(session: Session, member: BodyMember) -> dict[str, str]:
    """The member's values in the edit form's names, for the first showing of the form."""
    return {
        "represents_town": members.represented_town_slug(session, member) or "",
        "name": member.name,
        "email": member.email,
        "salutation": member.salutation,
        "language": member.language,
        "represents": member.represents or "",
        "represents_name": member.represents_name,
        "role": member.role,
        "deputy_of": str(member.deputy_of_id or ""),
    }


def _edit_page(
    request: Request,
    session: Session,
    user: User,
    body: Body,
    member: BodyMember,
    *,
    typed: dict[str, str],
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    today = today_of(organisation_of(session, user))
    current = queries.current_members(session, body_id=body.id, day=today)
    return page(
        request,
        "dashboard/body_member.html",
        user,
        status_code=status_code,
        body=body,
        member=member,
        typed=typed,
        error=error,
        principals=[m for m in current if m.role != MemberRole.DEPUTY.value and m.id != member.id],
        towns=_towns(session, body),
        **_choices(),
        **_words(request),
    )


def _edit_url(body_id: int, member_id: int) -> str:
    return f"/gremien/{body_id}/mitglieder/{member_id}/bearbeiten"


@router.get("/gremien/{body_id}/mitglieder/{member_id}/bearbeiten", response_class=HTMLResponse)
def member_form(
    request: Request, body_id: RowId, member_id: RowId, user: Coordinator, session: SessionDep
) -> HTMLResponse:
    body = _body(session, user, body_id)
    member = _open_member(session, body, member_id)
    return _edit_page(request, session, user, body, member, typed=_as_stored(session, member))


@router.post(
    "/gremien/{body_id}/mitglieder/{member_id}/bearbeiten",
    response_class=HTMLResponse,
    dependencies=[Depends(require_csrf)],
)
async def correct_member(
    request: Request, body_id: RowId, member_id: RowId, user: Coordinator, session: SessionDep
) -> Response:
    body = _body(session, user, body_id)
    member = _open_member(session, body, member_id)
    typed = typed_values(await request.form(), EDIT_FIELDS)
    try:
        with session.begin_nested():  # a refusal halfway leaves nothing behind
            service.correct_member(
                session=session,
                body=body,
                member=member,
                email=typed["email"],
                name=typed["name"],
                language=typed["language"] or None,
                salutation=typed["salutation"],
                represents=typed["represents"] or None,
                represents_name=typed["represents_name"],
                role=typed["role"] or None,
                deputy_of=whole_number(typed["deputy_of"]),
            )
            members.set_represented_town(
                session=session, body=body, member=member, town=typed["represents_town"] or None
            )
    except BodyError as exc:
        session.expire_all()  # show what is stored, not what the refused change set
        return _edit_page(
            request,
            session,
            user,
            body,
            member,
            typed=typed,
            error=error_text(exc, language_of(request)),
            status_code=error_status(exc) if not exc.not_found else 422,
        )
    flash(request, "body.member_changed")
    return redirect(f"/gremien/{body_id}#mitglieder")
