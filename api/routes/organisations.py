"""JSON routes of the installation's organisations, for the platform operator only.

``GET /api/v1/organisations`` lists all with kind, district, state and number of users;
``POST`` creates, ``PATCH /{slug}`` renames and/or moves, ``POST /{slug}/archive`` and
``/unarchive`` archive and reactivate. The rules are workflow/organisations/manage.py's; a
refusal answers with the rule's code and its sentence in the reader's language.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from api.deps import Operator, SessionDep, actor_of
from api.errors import ApiError
from api.routes.schemas import ERRORS
from workflow import runtime
from workflow.catalogue.models import Organisation
from workflow.organisations.manage import (
    OrganisationRefused,
    Overview,
    archive_organisation,
    create_organisation,
    find_organisation,
    move_organisation,
    overview,
    rename_organisation,
    unarchive_organisation,
)

router = APIRouter(prefix="/api/v1/organisations", tags=["organisations"], responses=ERRORS)
SlugPath = Annotated[str, Path(min_length=1, max_length=64)]
# Generous bounds: the service names a name that is too long in the reader's language.
Name = Annotated[str, Field(max_length=1000)]
SlugIn = Annotated[str, Field(max_length=200)]

# Refusals that conflict with the current state, not with what was typed.
_CONFLICTS = {"already_archived", "not_archived", "district_has_towns", "parent_archived"}


class OrganisationOut(BaseModel):
    slug: str
    name: str
    kind: str = Field(description="city, district oder town")
    parent: str | None = Field(description="Kurzname des Kreises einer Kommune")
    state: str = Field(description="Bundesland, z. B. NW")
    archived: bool
    archived_at: datetime | None
    users: int = Field(description="Aktive Konten der Organisation samt Mitgliedschaften")


class OrganisationIn(BaseModel):
    slug: SlugIn
    name: Name
    kind: SlugIn = Field(description="city, district oder town")
    parent: SlugIn | None = Field(default=None, description="Kurzname des Kreises (nur town)")


class OrganisationPatch(BaseModel):
    name: Name | None = None
    parent: SlugIn | None = Field(
        default=None, description="Kurzname des neuen Kreises; null oder leer: ohne Kreis"
    )


def _out(o: Overview) -> OrganisationOut:
    return OrganisationOut(
        slug=o.slug,
        name=o.name,
        kind=o.kind,
        parent=o.parent_slug or None,
        state=o.state,
        archived=o.archived_at is not None,
        archived_at=o.archived_at,
        users=o.users,
    )


def _one(session: SessionDep, org: Organisation) -> OrganisationOut:
    return _out(overview(session, only=org.slug)[0])


def refused(exc: OrganisationRefused) -> ApiError:
    """The refusal as an API error: its code, its sentence, its parameters as details."""
    if exc.code == "unknown":
        status, code = 404, "not_found"
    elif exc.code == "slug_taken" or exc.code in _CONFLICTS:
        status, code = 409, exc.code
    else:
        status, code = 422, exc.code
    return ApiError(
        status,
        code,
        details={**exc.params, "reason": exc.code},
        reason=f"organisation.{exc.code}",
        params=dict(exc.params),
    )


@router.get("", response_model=list[OrganisationOut], summary="Alle Organisationen des Betriebs")
def list_organisations(user: Operator, session: SessionDep) -> list[OrganisationOut]:
    return [_out(o) for o in overview(session)]


@router.post(
    "",
    response_model=OrganisationOut,
    status_code=201,
    summary="Organisation anlegen: Stadt, Kreis oder kreisangehörige Kommune",
)
def create(body: OrganisationIn, user: Operator, session: SessionDep) -> OrganisationOut:
    rt = runtime.current()
    try:
        org = create_organisation(
            session, slug=body.slug, name=body.name, kind=body.kind,
            parent_slug=body.parent or "", state=rt.settings.state,
            timezone=rt.settings.timezone, actor=actor_of(user), now=rt.clock.now(),
        )  # fmt: skip
    except OrganisationRefused as exc:
        raise refused(exc) from None
    return _one(session, org)


@router.patch(
    "/{slug}",
    response_model=OrganisationOut,
    summary="Organisation umbenennen oder einem anderen Kreis zuordnen",
    description="Nur die angegebenen Felder ändern sich; parent null oder leer: ohne Kreis.",
)
def change(
    slug: SlugPath, body: OrganisationPatch, user: Operator, session: SessionDep
) -> OrganisationOut:
    now, actor = runtime.current().clock.now(), actor_of(user)
    try:
        # An empty change still names an organisation that must exist: 404, not a silent 200.
        org = find_organisation(session, slug)
        if body.name is not None:
            org = rename_organisation(session, slug=slug, name=body.name, actor=actor, now=now)
        if "parent" in body.model_fields_set:
            org = move_organisation(
                session, slug=slug, parent_slug=body.parent or "", actor=actor, now=now
            )
    except OrganisationRefused as exc:
        raise refused(exc) from None
    return _one(session, org)


@router.post(
    "/{slug}/archive",
    response_model=OrganisationOut,
    summary="Organisation archivieren: Daten bleiben, nichts wird mehr gesendet",
)
def archive(slug: SlugPath, user: Operator, session: SessionDep) -> OrganisationOut:
    rt = runtime.current()
    try:
        org = archive_organisation(session, slug=slug, actor=actor_of(user), now=rt.clock.now())
    except OrganisationRefused as exc:
        raise refused(exc) from None
    return _one(session, org)


@router.post(
    "/{slug}/unarchive",
    response_model=OrganisationOut,
    summary="Archivierte Organisation wieder aktivieren",
)
def unarchive(slug: SlugPath, user: Operator, session: SessionDep) -> OrganisationOut:
    rt = runtime.current()
    try:
        org = unarchive_organisation(session, slug=slug, actor=actor_of(user), now=rt.clock.now())
    except OrganisationRefused as exc:
        raise refused(exc) from None
    return _one(session, org)
