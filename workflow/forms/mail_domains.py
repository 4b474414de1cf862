"""An organisation's own mail domains: where a form may be handed on without a coordinator's approval.

The setting ``Organisation.mail_domains`` (comma-separated) wins; without it, the domains of the
contacts the catalogue names (measure owners and department heads) count, so contacts created
by earlier hand-overs never widen the set by themselves. A subdomain of an own domain is own.
Raises errors with a code and parameters; never commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Contact, Measure, Organisation

MAX_DOMAINS = 50
_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


@dataclass
class DomainsInvalid(Exception):
    """``code`` names the rule (``invalid_domain``, ``too_many``); ``params`` fill the sentence."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)


def parse(text: str | None) -> list[str]:
    """The stored setting as a list; None or blank is no setting."""
    return [d for d in (part.strip() for part in (text or "").split(",")) if d]


def check(domains: list[str]) -> list[str]:
    """Normalised domains (lower case, no leading ``@``, no duplicates, in the given order).
    Raises DomainsInvalid. Pure."""
    clean: list[str] = []
    for raw in domains:
        domain = raw.strip().lower().removeprefix("@")
        if not _DOMAIN.match(domain):
            raise DomainsInvalid("invalid_domain", {"value": raw[:100]})
        if domain not in clean:
            clean.append(domain)
    if len(clean) > MAX_DOMAINS:
        raise DomainsInvalid("too_many", {"max": MAX_DOMAINS})
    return clean


def set_domains(
    *, session: Session, organisation_id: int, domains: list[str] | None
) -> Organisation:
    """Store the setting; None (or an empty list) returns to the contacts' domains."""
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise LookupError(organisation_id)
    clean = check(domains or [])
    org.mail_domains = ",".join(clean) if clean else None
    session.flush()
    return org


def own_domains(session: Session, org: Organisation) -> set[str]:
    """The setting, or the domains of the contacts that own a measure or head a department."""
    configured = parse(org.mail_domains)
    if configured:
        return set(configured)
    emails = session.scalars(
        select(Contact.email)
        .where(
            Contact.organisation_id == org.id,
            or_(
                Contact.is_head.is_(True),
                Contact.id.in_(select(Measure.contact_id).where(Measure.organisation_id == org.id)),
            ),
        )
        .distinct()
    )
    return {domain_of(e) for e in emails if "@" in e}


def domain_of(email: str) -> str:
    return email.rpartition("@")[2].strip().lower()


def is_own(session: Session, org: Organisation, email: str) -> bool:
    domain = domain_of(email)
    return any(domain == own or domain.endswith("." + own) for own in own_domains(session, org))
