"""The head of a department (a Contact with ``is_head``): set from the catalogue or the page.

One head per department: naming a new one ends the old one's role (the person stays a
contact). Raises errors with a code and parameters, never a sentence. Never commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Contact, Department
from workflow.salutation_entry import salutation_code

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ufffe\uffff]")
LIMITS = {"name": 200, "email": 320}


@dataclass(frozen=True)
class HeadProblem:
    setting: str  # "name", "email" or "salutation"
    code: str
    params: dict[str, Any] = field(default_factory=dict)


class HeadInvalid(Exception):
    def __init__(self, problems: list[HeadProblem]) -> None:
        self.problems = problems
        super().__init__(", ".join(f"{p.setting}:{p.code}" for p in problems))


@dataclass(frozen=True)
class HeadChange:
    created: bool = False
    changed: bool = False


def head_of(session: Session, department_id: int) -> Contact | None:
    return session.scalars(
        select(Contact)
        .where(Contact.department_id == department_id, Contact.is_head.is_(True))
        .order_by(Contact.id)
    ).first()


def heads_by_department(session: Session, organisation_id: int) -> dict[int, Contact]:
    """The head of each department that has one (the first, should there be several)."""
    out: dict[int, Contact] = {}
    for contact in session.scalars(
        select(Contact)
        .where(Contact.organisation_id == organisation_id, Contact.is_head.is_(True))
        .order_by(Contact.id.desc())
    ):
        if contact.department_id is not None:
            out[contact.department_id] = contact
    return out


def check_head(name: str, email: str) -> tuple[str, str]:
    """Normalised (name, email); both empty means "no head". Pure; raises HeadInvalid."""
    name, email = name.strip(), email.strip().lower()
    problems: list[HeadProblem] = []
    for setting, value in (("name", name), ("email", email)):
        if _CONTROL.search(value):
            problems.append(HeadProblem(setting, "control_character"))
        elif len(value) > LIMITS[setting]:
            problems.append(
                HeadProblem(setting, "too_long", {"limit": LIMITS[setting], "length": len(value)})
            )
    if not problems:
        if name and not email:
            problems.append(HeadProblem("email", "email_required"))
        elif email and not EMAIL.match(email):
            problems.append(HeadProblem("email", "invalid_email", {"value": email}))
    if problems:
        raise HeadInvalid(problems)
    return name or email, email


def set_head(
    *,
    session: Session,
    organisation_id: int,
    department_id: int,
    name: str,
    email: str,
    salutation: str = "",
) -> Contact | None:
    """The page's edit: check, then make this person the head (or, both empty, nobody).

    ``salutation`` as entered ("frau", "Herr", "" for none). A person who is already a contact
    of another department is refused rather than moved, since their measures stay with that
    department."""
    department = session.get(Department, department_id)
    if department is None or department.organisation_id != organisation_id:
        raise LookupError(department_id)
    code = salutation_code(salutation)
    unclear = (
        [HeadProblem("salutation", "unknown_salutation", {"value": salutation.strip()[:40]})]
        if code is None
        else []
    )
    try:
        name, email = check_head(name, email)
    except HeadInvalid as exc:
        raise HeadInvalid(exc.problems + unclear) from None
    if unclear:
        raise HeadInvalid(unclear)
    if not email:
        for old in _heads(session, department_id):
            old.is_head = False
        session.flush()
        return None
    existing = _by_email(session, organisation_id, email)
    if (
        existing is not None
        and existing.department_id is not None
        and existing.department_id != department_id
    ):
        other = session.get(Department, existing.department_id)
        raise HeadInvalid(
            [
                HeadProblem(
                    "email",
                    "other_department",
                    {"value": email, "department": other.name if other else ""},
                )
            ]
        )
    contact, _ = apply_head(
        session,
        organisation_id=organisation_id,
        department_id=department_id,
        name=name,
        email=email,
        existing=existing,
        salutation=code,
    )
    return contact


def apply_head(
    session: Session,
    *,
    organisation_id: int,
    department_id: int,
    name: str,
    email: str,
    existing: Contact | None,
    salutation: str | None = None,
) -> tuple[Contact, HeadChange]:
    """Make the checked (name, email) the department's only head; ``existing`` is the contact
    with that email, if any, and a ``salutation`` of None keeps theirs. Used by the page and
    by the catalogue import."""
    created = existing is None
    if existing is None:
        contact = Contact(
            organisation_id=organisation_id,
            department_id=department_id,
            name=name,
            email=email,
            salutation=salutation or "",
            is_head=True,
        )
        session.add(contact)
        changed = True
    else:
        contact = existing
        values: dict[str, Any] = {"name": name, "department_id": department_id, "is_head": True}
        if salutation is not None:
            values["salutation"] = salutation
        changed = any(getattr(contact, k) != v for k, v in values.items())
        for k, v in values.items():
            setattr(contact, k, v)
    for old in _heads(session, department_id):
        if old is not contact and old.email != email:
            old.is_head = False
            changed = True
    session.flush()
    return contact, HeadChange(created=created, changed=changed and not created)


def _heads(session: Session, department_id: int) -> list[Contact]:
    return list(
        session.scalars(
            select(Contact).where(Contact.department_id == department_id, Contact.is_head.is_(True))
        )
    )


def _by_email(session: Session, organisation_id: int, email: str) -> Contact | None:
    return session.scalars(
        select(Contact).where(
            Contact.organisation_id == organisation_id, func.lower(Contact.email) == email
        )
    ).first()
