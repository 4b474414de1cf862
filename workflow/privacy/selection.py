"""Who a person is in one organisation's data, and which rows are theirs; reads only.

A person is an email address. Their identity rows (contact, body member, meeting guest,
user account, hand-over, outbox message) carry the address; everything else is theirs by a
foreign key to one of those rows, by an actor reference ("contact:12", "user:3"), or by
naming them in a text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from workflow.catalogue.models import Organisation
from workflow.privacy.scan import Needles, org_clause, scoped_rows, tables, text_columns

# (table, name column, email column): rows that say who someone is.
IDENTITY: tuple[tuple[str, str, str], ...] = (
    ("contact", "name", "email"),
    ("body_member", "name", "email"),
    ("meeting_guest", "name", "email"),
    ("app_user", "name", "email"),
    ("delegation", "delegate_name", "delegate_email"),
    ("outbox_message", "recipient_name", "recipient_email"),
)
# How actor columns ("contact:12", "user:3") name a person's rows, by table.
_PERSON_TABLES = {"contact": "contact", "app_user": "user"}
# Rows that are the person's own request: what hangs off them (the answers to a status
# check part, a data request's values and draft) is theirs too.
_OWN_REQUESTS = ("status_check_request", "data_request")


@dataclass
class Person:
    organisation: Organisation
    email: str
    # Row ids of the identity rows by table, e.g. {"contact": {12}, "app_user": {3}}.
    ids: dict[str, set[int]] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)

    @property
    def found(self) -> bool:
        return any(self.ids.values())

    @property
    def actors(self) -> set[str]:
        """How the audit trail and the *_by columns name this person."""
        return {
            f"{prefix}:{i}"
            for table, prefix in _PERSON_TABLES.items()
            for i in self.ids.get(table, set())
        }

    def needles(self) -> Needles:
        return Needles(self.email, self.names)


def identity_table(name: str) -> Table:
    return next(t for t in tables() if t.name == name)


def find_person(session: Session, organisation: Organisation, email: str) -> Person:
    """The person behind ``email`` (any case) in the organisation; ``found`` False if none."""
    person = Person(organisation=organisation, email=email.strip().lower())
    for table_name, name_col, email_col in IDENTITY:
        table = identity_table(table_name)
        clause = org_clause(table, organisation.id)
        assert clause is not None  # every identity table belongs to an organisation
        rows = session.execute(
            select(table.c.id, table.c[name_col]).where(
                clause,
                func.lower(table.c[email_col]) == person.email,
            )
        ).all()
        person.ids[table_name] = {r[0] for r in rows}
        person.names |= {r[1] for r in rows if r[1] and r[1].strip()}
    return person


def is_theirs(
    person: Person,
    table: Table,
    row: RowMapping,
    needles: Needles,
    owned: dict[str, set[int]] | None = None,
) -> bool:
    """Whether the row is an identity row of the person, points at one or at their own
    request (``owned``), or names them."""
    if row.get("id") in person.ids.get(table.name, set()):
        return True
    refs = {**person.ids, **(owned or {})}
    for fk in table.foreign_keys:
        target = fk.column.table.name
        if target in refs and target != table.name and row[fk.parent.name] in refs[target]:
            return True
    actors = person.actors
    for column in text_columns(table):
        value = row[column.name]
        if value in ("", None, {}, []):
            continue
        if (isinstance(value, str) and value in actors) or needles.mentioned(value):
            return True
    return False


def person_rows(session: Session, person: Person) -> dict[str, list[RowMapping]]:
    """Every row of the organisation that is the person's, by table name, in id order."""
    needles = person.needles()
    found: dict[str, list[RowMapping]] = {}
    owned: dict[str, set[int]] = {name: set() for name in _OWN_REQUESTS}
    # Parents come before their children in ``sorted_tables``: a request is known as theirs
    # before its answers are read.
    for table, row in scoped_rows(session, person.organisation.id):
        if is_theirs(person, table, row, needles, owned):
            found.setdefault(table.name, []).append(row)
            if table.name in owned:
                owned[table.name].add(row["id"])
    return found


@dataclass(frozen=True)
class OpenItem:
    """Something that still needs the person; ``kind`` picks the sentence, ``label`` names it."""

    kind: str  # measure, form, status_check, membership, data_request, assignment
    label: str
    due: date | None = None  # names an untitled status check


def open_items(session: Session, person: Person, now: datetime) -> list[OpenItem]:
    """What erasing the person now would cut off: their measures, open forms and requests."""
    from workflow.bodies.models import Body, BodyMember
    from workflow.catalogue.models import Measure, MeasureStatus
    from workflow.decisions.models import Decision, DecisionKind, DecisionStatus
    from workflow.forms.tokens import FormToken
    from workflow.indicators.models import DataRequest, Indicator, RequestStatus
    from workflow.status_checks.models import StatusCheck, StatusCheckRequest

    contacts = person.ids.get("contact", set())
    members = person.ids.get("body_member", set())
    queries: list[tuple[str, Any]] = [
        (
            "measure",
            select(Measure.code + " " + Measure.title).where(
                Measure.contact_id.in_(contacts), Measure.status == MeasureStatus.ACTIVE.value
            ),
        ),
        (
            "form",
            select(FormToken.phase).where(
                FormToken.contact_id.in_(contacts),
                FormToken.revoked_at.is_(None),
                FormToken.expires_at > now,
            ),
        ),
        (
            "status_check",
            select(StatusCheck.title, StatusCheck.due_on)
            .join(StatusCheckRequest, StatusCheckRequest.status_check_id == StatusCheck.id)
            .where(
                StatusCheckRequest.contact_id.in_(contacts),
                StatusCheckRequest.answered_at.is_(None),
                StatusCheck.closed_at.is_(None),
            ),
        ),
        (
            "data_request",
            select(Indicator.code + " " + DataRequest.period)
            .select_from(DataRequest)
            .join(Indicator, Indicator.id == DataRequest.indicator_id)
            .where(
                DataRequest.contact_id.in_(contacts),
                DataRequest.status == RequestStatus.OPEN.value,
            ),
        ),
        (
            "assignment",
            select(Decision.text).where(
                Decision.contact_id.in_(contacts),
                Decision.kind == DecisionKind.ASSIGNMENT.value,
                Decision.status != DecisionStatus.DONE.value,
            ),
        ),
        (
            "membership",
            select(Body.name)
            .join(BodyMember, BodyMember.body_id == Body.id)
            .where(
                BodyMember.id.in_(members),
                (BodyMember.left_on.is_(None)) | (BodyMember.left_on > now.date()),
            ),
        ),
    ]
    items: list[OpenItem] = []
    for kind, query in queries:
        found = {(str(r[0]), r[1] if len(r) > 1 else None) for r in session.execute(query)}
        items += [OpenItem(kind=kind, label=label, due=due) for label, due in sorted(found)]
    return items
