"""JSON routes of bodies and their members: everyone signed in reads, coordinators change.

A body of another organisation answers 404, exactly like one that does not exist.
Memberships are never deleted: ``…/end`` ends one and keeps it in the history.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session

from api.body_text import error_status, error_text, label, rule_text, shortfall_text
from api.csrf import require_csrf
from api.deps import Coordinator, Reader, SessionDep, organisation_of, today_of
from api.errors import ApiError
from api.routes.body_schemas import (
    BodyIn,
    BodyOut,
    BodyPatch,
    MemberEnd,
    MemberIn,
    MemberOut,
    MemberPatch,
    RuleOut,
    ShortfallOut,
)
from api.routes.schemas import ERRORS, MAX_ID
from workflow.accounts import User
from workflow.bodies import members, queries, service
from workflow.bodies.checks import UNSET
from workflow.bodies.errors import BodyError
from workflow.bodies.models import (
    Body,
    BodyKind,
    BodyMember,
    BodyScope,
    DigestCadence,
    Represents,
)

router = APIRouter(
    prefix="/api/v1/bodies",
    tags=["bodies"],
    responses=ERRORS,
    dependencies=[Depends(require_csrf)],  # cookie sessions must echo the token; tokens need not
)
BodyId = Annotated[int, Path(ge=1, le=MAX_ID)]
MemberId = Annotated[int, Path(ge=1, le=MAX_ID)]


@contextmanager
def refusals() -> Iterator[None]:
    """A domain refusal as the API's error shape, in the reader's language."""
    try:
        yield
    except BodyError as exc:
        raise ApiError(
            error_status(exc), exc.code, details=exc.params, wording=partial(error_text, exc)
        ) from None


def _body(session: Session, user: User, body_id: int) -> Body:
    org_id = organisation_of(session, user).id
    with refusals():
        return queries.get_body(session, organisation_id=org_id, body_id=body_id)


def _out(session: Session, user: User, body: Body) -> BodyOut:
    s = queries.summary(session, body=body, day=today_of(organisation_of(session, user)))
    return BodyOut(
        id=body.id,
        name=body.name,
        kind=BodyKind(body.kind),
        kind_label=label("body.kind", body.kind, "de"),
        scope=BodyScope(body.scope),
        field_ids=s.field_ids,
        digest_cadence=DigestCadence(body.digest_cadence),
        meetings_per_year=body.meetings_per_year,
        rules=[
            RuleOut(represents=Represents(r), minimum=n, text=rule_text(r, n, "de"))
            for r, n in s.rules.items()
        ],
        current_members=len(s.current),
        shortfalls=[
            ShortfallOut(
                represents=Represents(f.represents),
                minimum=f.minimum,
                current=f.current,
                text=shortfall_text(f, "de"),
            )
            for f in s.shortfalls
        ],
    )


def _member_out(session: Session, user: User, member: BodyMember) -> MemberOut:
    today = today_of(organisation_of(session, user))
    computed = ("current", "represents_town")
    return MemberOut.model_validate(
        {
            **{k: getattr(member, k) for k in MemberOut.model_fields if k not in computed},
            "current": member.is_current(today),
            "represents_town": members.represented_town_slug(session, member),
        }
    )


@router.get("", response_model=list[BodyOut], summary="Alle Gremien der Organisation")
def list_bodies(user: Reader, session: SessionDep) -> list[BodyOut]:
    return [
        _out(session, user, b)
        for b in queries.bodies_of(session, organisation_id=organisation_of(session, user).id)
    ]


@router.post("", response_model=BodyOut, status_code=201, summary="Gremium anlegen")
def create_body(payload: BodyIn, user: Coordinator, session: SessionDep) -> BodyOut:
    with refusals():
        body = service.create_body(
            session=session,
            organisation_id=organisation_of(session, user).id,
            name=payload.name,
            kind=payload.kind.value,
            scope=payload.scope.value,
            field_ids=payload.field_ids,
            digest_cadence=payload.digest_cadence.value if payload.digest_cadence else None,
            meetings_per_year=payload.meetings_per_year,
            rules={r.represents.value: r.minimum for r in payload.rules},
        )
    return _out(session, user, body)


@router.get("/{body_id}", response_model=BodyOut, summary="Ein Gremium")
def read_body(body_id: BodyId, user: Reader, session: SessionDep) -> BodyOut:
    return _out(session, user, _body(session, user, body_id))


@router.patch("/{body_id}", response_model=BodyOut, summary="Gremium ändern")
def change_body(
    body_id: BodyId, payload: BodyPatch, user: Coordinator, session: SessionDep
) -> BodyOut:
    body = _body(session, user, body_id)
    given = payload.model_fields_set
    with refusals():
        service.update_body(
            session=session,
            body=body,
            name=payload.name,
            kind=payload.kind.value if payload.kind else None,
            scope=payload.scope.value if payload.scope else None,
            field_ids=payload.field_ids,
            digest_cadence=payload.digest_cadence.value if payload.digest_cadence else None,
            meetings_per_year=payload.meetings_per_year,
            rules=(
                {r.represents.value: r.minimum for r in payload.rules or []}
                if "rules" in given
                else None
            ),
        )
    return _out(session, user, body)


@router.get(
    "/{body_id}/members",
    response_model=list[MemberOut],
    summary="Mitglieder eines Gremiums, auf Wunsch mit den beendeten Mitgliedschaften",
)
def list_members(
    body_id: BodyId,
    user: Reader,
    session: SessionDep,
    history: Annotated[bool, Query(description="auch beendete Mitgliedschaften")] = False,
) -> list[MemberOut]:
    body = _body(session, user, body_id)
    members = (
        queries.all_members(session, body_id=body.id)
        if history
        else queries.current_members(
            session, body_id=body.id, day=today_of(organisation_of(session, user))
        )
    )
    return [_member_out(session, user, m) for m in members]


@router.post(
    "/{body_id}/members", response_model=MemberOut, status_code=201, summary="Mitglied eintragen"
)
def add_member(
    body_id: BodyId, payload: MemberIn, user: Coordinator, session: SessionDep
) -> MemberOut:
    body = _body(session, user, body_id)
    with refusals():
        member = members.add_member(
            session=session,
            body=body,
            name=payload.name,
            email=payload.email,
            today=today_of(organisation_of(session, user)),
            language=payload.language,
            salutation=payload.salutation,
            represents=payload.represents.value if payload.represents else None,
            represents_name=payload.represents_name,
            role=payload.role.value,
            deputy_of=payload.deputy_of_id,
            user_id=payload.user_id,
            joined_on=payload.joined_on or UNSET,
            represents_town=payload.represents_town,
        )
    return _member_out(session, user, member)


@router.patch(
    "/{body_id}/members/{member_id}", response_model=MemberOut, summary="Mitgliedschaft ändern"
)
def change_member(
    body_id: BodyId,
    member_id: MemberId,
    payload: MemberPatch,
    user: Coordinator,
    session: SessionDep,
) -> MemberOut:
    body = _body(session, user, body_id)
    given = payload.model_fields_set
    with refusals():
        member = queries.member_of(session, body=body, member_id=member_id)
        members.update_member(
            session=session,
            body=body,
            member=member,
            name=payload.name,
            language=payload.language,
            salutation=payload.salutation,
            represents=(
                (payload.represents.value if payload.represents else None)
                if "represents" in given
                else UNSET
            ),
            represents_name=payload.represents_name,
            role=payload.role.value if payload.role else None,
            deputy_of=payload.deputy_of_id if "deputy_of_id" in given else UNSET,
            user_id=payload.user_id if "user_id" in given else UNSET,
            represents_town=(payload.represents_town if "represents_town" in given else UNSET),
        )
    return _member_out(session, user, member)


@router.post(
    "/{body_id}/members/{member_id}/end",
    response_model=MemberOut,
    summary="Mitgliedschaft beenden (sie bleibt in der Geschichte des Gremiums)",
)
def end_member(
    body_id: BodyId,
    member_id: MemberId,
    payload: MemberEnd,
    user: Coordinator,
    session: SessionDep,
) -> MemberOut:
    body = _body(session, user, body_id)
    with refusals():
        member = queries.member_of(session, body=body, member_id=member_id)
        members.end_membership(
            session=session,
            member=member,
            on=payload.on or today_of(organisation_of(session, user)),
        )
    return _member_out(session, user, member)
