"""JSON route of the organisation's own mail domains: a form handed on elsewhere waits for approval.

Everyone signed in reads the domains in force; coordinators set them, or clear the setting to
return to the domains of the organisation's contacts (``workflow/forms/mail_domains.py``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api.csrf import require_csrf
from api.deps import Coordinator, Reader, SessionDep, organisation_of
from api.errors import ApiError
from api.routes.schemas import ERRORS, OneLine
from workflow.catalogue.models import Organisation
from workflow.forms import mail_domains
from workflow.forms.mail_domains import DomainsInvalid

router = APIRouter(prefix="/api/v1/organisation", tags=["organisation"], responses=ERRORS)


class MailDomainsOut(BaseModel):
    domains: list[str] = Field(description="die geltenden eigenen Mail-Domains, sortiert")
    configured: bool = Field(
        description="false: keine Einstellung, es gelten die Domains der Ansprechpersonen"
    )


class MailDomainsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domains: (
        Annotated[list[Annotated[OneLine, Field(max_length=253)]], Field(max_length=100)] | None
    ) = Field(description="null oder leer: zurück zu den Domains der Ansprechpersonen")


def _out(session: SessionDep, org: Organisation) -> MailDomainsOut:
    return MailDomainsOut(
        domains=sorted(mail_domains.own_domains(session, org)),
        configured=bool(mail_domains.parse(org.mail_domains)),
    )


@router.get("/mail-domains", response_model=MailDomainsOut, summary="Eigene Mail-Domains")
def read_mail_domains(user: Reader, session: SessionDep) -> MailDomainsOut:
    return _out(session, organisation_of(session, user))


@router.put(
    "/mail-domains",
    response_model=MailDomainsOut,
    summary="Eigene Mail-Domains festlegen",
    dependencies=[Depends(require_csrf)],
)
def set_mail_domains(body: MailDomainsIn, user: Coordinator, session: SessionDep) -> MailDomainsOut:
    try:
        org = mail_domains.set_domains(
            session=session, organisation_id=user.organisation_id, domains=body.domains
        )
    except DomainsInvalid as invalid:
        raise ApiError(
            422,
            invalid.code,
            details={"field": "domains", **invalid.params},
            reason=f"api.mail_domains.{invalid.code}",
            params=dict(invalid.params),
        ) from None
    return _out(session, org)
