"""Changing a department contact: the JSON API's PATCH and the dashboard's edit page both come here.

``update_contact`` applies checked values: the department must be the organisation's, the
address must not belong to another contact, and a new address (not just another letter case)
ends the old form links and sends fresh ones (workflow/forms/contact_links.py).
``check_contact_form`` checks what was typed on the page. Refusals carry a code and
parameters, never a sentence (worded in api/locales/dashboard.*.json). Never commits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.catalogue.heads import EMAIL
from workflow.catalogue.models import Contact, Department
from workflow.forms.contact_links import address_changed
from workflow.salutation_entry import salutation_code

LANGUAGES = ("de", "en")
LIMITS = {"name": 200, "email": 320}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ufffe\uffff]")


@dataclass(frozen=True)
class ContactProblem:
    setting: str  # "salutation", "name", "email", "language" or "department_id"
    code: str
    params: dict[str, Any] = field(default_factory=dict)


class ContactEditRefused(Exception):
    def __init__(self, problems: list[ContactProblem]) -> None:
        self.problems = problems
        super().__init__(", ".join(f"{p.setting}:{p.code}" for p in problems))


def check_contact_form(*, salutation: str, name: str, email: str, language: str) -> dict[str, str]:
    """The page's typed values as stored (address in lower case, as the catalogue import
    stores it); raises ContactEditRefused naming every problem at once. Pure."""
    name, email, language = name.strip(), email.strip().lower(), language.strip()
    problems = [p for p in (_text("name", name), _text("email", email)) if p is not None]
    if email and not any(p.setting == "email" for p in problems) and not EMAIL.match(email):
        problems.append(ContactProblem("email", "invalid_email", {"value": email}))
    code = salutation_code(salutation)
    if code is None:
        problems.append(
            ContactProblem("salutation", "unknown_salutation", {"value": salutation.strip()[:40]})
        )
    if language not in LANGUAGES:
        problems.append(ContactProblem("language", "unknown_language", {"value": language[:40]}))
    if problems:
        raise ContactEditRefused(problems)
    return {"salutation": code or "", "name": name, "email": email, "language": language}


def _text(setting: str, value: str) -> ContactProblem | None:
    if not value:
        return ContactProblem(setting, "required")
    if _CONTROL.search(value):
        return ContactProblem(setting, "control_character")
    if len(value) > LIMITS[setting]:
        return ContactProblem(setting, "too_long", {"limit": LIMITS[setting], "length": len(value)})
    return None


def update_contact(
    session: Session,
    contact: Contact,
    changes: Mapping[str, Any],
    *,
    now: datetime,
    actor: str,
) -> bool:
    """Apply ``changes`` (Contact columns to new values, already checked for form) to the
    contact; returns whether its address changed. Raises ContactEditRefused, nothing applied,
    for another organisation's department or an address another contact has."""
    department_id = changes.get("department_id")
    if department_id is not None:
        department = session.get(Department, department_id)
        if department is None or department.organisation_id != contact.organisation_id:
            raise ContactEditRefused(
                [ContactProblem("department_id", "unknown_reference", {"value": department_id})]
            )
    email = changes.get("email")
    if email is not None:
        _refuse_taken(session, contact, email)
    old_email = contact.email
    try:
        # Inside the savepoint, so that a refused write leaves the contact as it was: the
        # page's request commits even when it answers with the form again.
        with session.begin_nested():
            for key, value in changes.items():
                setattr(contact, key, value)
            session.flush()
    except IntegrityError:
        # Another request took the address between the check and the write.
        raise ContactEditRefused([ContactProblem("email", "taken", {"value": email})]) from None
    if contact.email.lower() == old_email.lower():
        return False
    address_changed(session=session, contact=contact, now=now, actor=actor)
    return True


def _refuse_taken(session: Session, contact: Contact, email: str) -> None:
    """The address as written must be free: the table's unique key compares it exactly."""
    other = session.scalars(
        select(Contact.id).where(
            Contact.organisation_id == contact.organisation_id,
            Contact.email == email,
            Contact.id != contact.id,
        )
    ).first()
    if other is not None:
        raise ContactEditRefused([ContactProblem("email", "taken", {"value": email})])
