"""JSON routes of the caller's organisation settings: everyone signed in reads, coordinators change."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api.csrf import require_csrf
from api.deps import Coordinator, Reader, SessionDep, organisation_of
from api.errors import ApiError
from api.i18n import reader_language
from api.routes.schemas import ERRORS
from api.setting_errors import setting_problem
from workflow.organisation_settings import SettingsInvalid, current, update_settings

router = APIRouter(prefix="/api/v1/organisation", tags=["organisation"], responses=ERRORS)

# The service checks the values and names every problem; the schema only bounds the size.
Value = Annotated[str | None, Field(max_length=2000)]


class OrganisationOut(BaseModel):
    slug: str
    name: str
    kind: str = Field(description="city, district oder town")
    office_name: str = Field(description="Absendername und Fußzeile jeder E-Mail")
    office_address: str = Field(description="Postanschrift, eine Angabe je Zeile")
    contact_email: str = Field(description="Antwortadresse (Reply-To); leer: keine")
    state: str = Field(description="Land (Feiertage), z. B. NW")
    timezone: str = Field(description="Zeitzone, z. B. Europe/Berlin")
    unit_term: str = Field(
        description="Bezeichnung der Organisationseinheiten: fachbereich oder amt"
    )
    council_term: str = Field(
        description="Bezeichnung der Vertretungskörperschaft: rat, gemeinderat, stadtrat oder "
        "kreistag; leer: nach Art der Gebietskörperschaft (Kreistag beim Kreis, sonst Rat)"
    )


class OrganisationPatch(BaseModel):
    """Only the settings to change; a setting left out stays as it is."""

    model_config = ConfigDict(extra="forbid")
    name: Value = None
    kind: Value = None
    office_name: Value = None
    office_address: Value = None
    contact_email: Value = None
    state: Value = None
    timezone: Value = None
    unit_term: Value = None
    council_term: Value = None


@router.get("", response_model=OrganisationOut, summary="Einstellungen der eigenen Organisation")
def read_settings(user: Reader, session: SessionDep) -> OrganisationOut:
    org = organisation_of(session, user)
    return OrganisationOut(slug=org.slug, **current(org))


@router.patch(
    "",
    response_model=OrganisationOut,
    summary="Einstellungen der eigenen Organisation ändern",
    dependencies=[Depends(require_csrf)],
)
def change_settings(
    body: OrganisationPatch, user: Coordinator, session: SessionDep
) -> OrganisationOut:
    try:
        org = update_settings(
            session=session,
            organisation_id=user.organisation_id,
            changes=body.model_dump(exclude_unset=True),
        )
    except SettingsInvalid as exc:
        errors = [
            {
                "field": p.setting,
                "code": p.code,
                "message": setting_problem(p, reader_language()),
                "params": p.params,
            }
            for p in exc.problems
        ]
        problems = exc.problems
        raise ApiError(
            422,
            "invalid_settings",
            details={"errors": errors},
            wording=lambda lang: " ".join(setting_problem(p, lang) for p in problems),
        ) from None
    return OrganisationOut(slug=org.slug, **current(org))
