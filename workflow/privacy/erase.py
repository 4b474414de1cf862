"""Pseudonymise one person (DSGVO Art. 17): their name and address become "Gelöschte Person 7".

Rows are kept and rewritten in place, so the audit trail keeps pointing at the same ids and
every count stays right. Refuses while the person still has open items, unless forced; a
forced erasure also takes them off what would mail them again (an address ``@invalid`` must
never be sent to). Never commits; a second run finds nobody and changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, or_, select, update
from sqlalchemy.orm import Session

from workflow.catalogue.models import Organisation
from workflow.privacy.scan import Needles, scoped_rows, text_columns
from workflow.privacy.selection import (
    IDENTITY,
    OpenItem,
    Person,
    find_person,
    identity_table,
    open_items,
)

PSEUDONYM_NAME = "Gelöschte Person {n}"
PSEUDONYM_EMAIL = "geloescht-{n}@invalid"
_PSEUDONYM = re.compile(r"^geloescht-(\d+)@invalid$")
# Names of identity rows are rewritten only on the person's own rows: another person of the
# same name keeps theirs.
_IDENTITY_NAMES = {(t, n) for t, n, _ in IDENTITY}


class PersonHasOpenItems(Exception):
    def __init__(self, items: list[OpenItem]) -> None:
        super().__init__(", ".join(f"{i.kind}: {i.label}" for i in items))
        self.items = items


@dataclass
class Erasure:
    """What an erasure did; ``pseudonym`` is None when nobody had the address."""

    pseudonym: str | None = None
    rows: int = 0  # rows rewritten
    dropped_messages: int = 0
    open_items: list[OpenItem] = field(default_factory=list)  # cut off by --force


def erase_person(
    session: Session, organisation: Organisation, email: str, *, force: bool, now: datetime
) -> Erasure:
    person = find_person(session, organisation, email)
    if not person.found:
        return Erasure()
    items = open_items(session, person, now)
    if items and not force:
        raise PersonHasOpenItems(items)
    session.flush()
    n = _next_number(session)
    name, address = PSEUDONYM_NAME.format(n=n), PSEUDONYM_EMAIL.format(n=n)
    _cut_off(session, person, now)
    dropped = _drop_pending_mail(session, person)
    rows = _rewrite_identities(session, person, name=name, email=address)
    rows += _scrub_texts(session, person, name=name, email=address)
    session.expire_all()  # the ORM's copies predate the core updates above
    return Erasure(pseudonym=address, rows=rows, dropped_messages=dropped, open_items=items)


def _next_number(session: Session) -> int:
    """One more than the highest pseudonym in any organisation: accounts are unique across all."""
    highest = 0
    for table_name, _name, email_col in IDENTITY:
        column = identity_table(table_name).c[email_col]
        for value in session.scalars(select(column).where(column.like("geloescht-%@invalid"))):
            match = _PSEUDONYM.match(value)
            highest = max(highest, int(match.group(1)) if match else 0)
    return highest + 1


def _cut_off(session: Session, person: Person, now: datetime) -> None:
    """End every way in and every schedule that would write to the person again."""
    from workflow.accounts import ApiToken, PasswordResetToken, User
    from workflow.bodies.models import BodyMember
    from workflow.catalogue.models import Measure
    from workflow.decisions.models import Decision
    from workflow.forms.models import FormDraft
    from workflow.forms.tokens import FormToken
    from workflow.indicators.models import DataDraft, DataRequest
    from workflow.sessions import UserSession
    from workflow.status_checks.models import StatusCheckRequest

    contacts, users = person.ids.get("contact", set()), person.ids.get("app_user", set())
    actors = person.actors
    session.execute(
        update(FormToken)
        .where(
            or_(
                FormToken.contact_id.in_(contacts),
                FormToken.delegated_from_contact_id.in_(contacts),
            ),
            FormToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    session.execute(update(User).where(User.id.in_(users)).values(active=False))
    for access, ended in ((UserSession, "ended_at"), (ApiToken, "revoked_at")):
        column = getattr(access, ended)
        session.execute(
            update(access).where(access.user_id.in_(users), column.is_(None)).values({ended: now})
        )
    session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id.in_(users), PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
    )
    session.execute(
        update(BodyMember)
        .where(
            BodyMember.id.in_(person.ids.get("body_member", set())),
            BodyMember.left_on.is_(None) | (BodyMember.left_on > now.date()),
        )
        .values(left_on=now.date())
    )
    session.execute(update(Measure).where(Measure.contact_id.in_(contacts)).values(contact_id=None))
    for scheduled in (StatusCheckRequest, DataRequest, Decision):
        session.execute(
            update(scheduled).where(scheduled.contact_id.in_(contacts)).values(next_action_at=None)
        )
    # Unsent drafts they typed are theirs alone; what they submitted stays, pseudonymised.
    session.execute(delete(FormDraft).where(FormDraft.updated_by.in_(actors)))
    session.execute(delete(DataDraft).where(DataDraft.updated_by.in_(actors)))
    session.execute(
        update(StatusCheckRequest)
        .where(StatusCheckRequest.draft_updated_by.in_(actors))
        .values(draft={}, draft_updated_at=None)
    )


def _drop_pending_mail(session: Session, person: Person) -> int:
    from notifications.models import OutboxMessage, OutboxStatus

    result = session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.organisation_id == person.organisation.id,
            func.lower(OutboxMessage.recipient_email) == person.email,
            OutboxMessage.status.in_([OutboxStatus.PENDING.value, OutboxStatus.SENDING.value]),
        )
    )
    person.ids["outbox_message"] = set(
        session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.id.in_(person.ids["outbox_message"]))
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _rewrite_identities(session: Session, person: Person, *, name: str, email: str) -> int:
    rows = 0
    for table_name, name_col, email_col in IDENTITY:
        table = identity_table(table_name)
        ids = person.ids.get(table_name, set())
        if not ids:
            continue
        values: dict[str, Any] = {name_col: name, email_col: email}
        if "salutation" in table.c:
            values["salutation"] = ""
        session.execute(update(table).where(table.c.id.in_(ids)).values(values))
        rows += len(ids)
    return rows


def _scrub_texts(session: Session, person: Person, *, name: str, email: str) -> int:
    """Replace every remaining mention in any text or JSON column of the organisation."""
    needles = person.needles()
    rows = 0
    for table, row in list(scoped_rows(session, person.organisation.id)):
        changes = _changes(table, row, needles, name=name, email=email)
        if changes:
            keys = list(table.primary_key.columns)
            session.execute(update(table).where(*(c == row[c.name] for c in keys)).values(changes))
            rows += 1
    return rows


def _changes(table: Table, row: Any, needles: Needles, *, name: str, email: str) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for column in text_columns(table):
        value = row[column.name]
        if (table.name, column.name) in _IDENTITY_NAMES or value in ("", None):
            continue
        if needles.mentioned(value):
            changes[column.name] = needles.replace(value, name=name, email=email)
    return changes
