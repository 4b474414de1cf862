"""The saved state a stateful run starts every sequence from: rows, and the next id, come back."""

from __future__ import annotations

from sqlalchemy import func, select, update

from tests.dashboard_seed import seed
from tests.database_snapshot import DatabaseSnapshot
from workflow.catalogue.models import Contact
from workflow.db import unit_of_work
from workflow.runtime import Runtime


def _contacts(rt: Runtime) -> list[tuple[int, str]]:
    with unit_of_work(rt.sessions) as session:
        rows = session.execute(select(Contact.id, Contact.email).order_by(Contact.id))
        return [(contact_id, email) for contact_id, email in rows]


def _add_contact(rt: Runtime, organisation_id: int, email: str) -> int:
    with unit_of_work(rt.sessions) as session:
        contact = Contact(organisation_id=organisation_id, name="Neu", email=email)
        session.add(contact)
        session.flush()
        return contact.id


def test_restore_brings_back_rows_and_the_next_id(rt: Runtime) -> None:
    organisation_id = seed(rt).organisation_id
    before = _contacts(rt)
    saved = DatabaseSnapshot.take(rt)
    try:
        first = _add_contact(rt, organisation_id, "eins@musterstadt.example.org")
        with unit_of_work(rt.sessions) as session:
            session.execute(
                update(Contact)
                .where(Contact.id == before[0][0])
                .values(email="geaendert@musterstadt.example.org")
            )
        assert _contacts(rt) != before

        saved.restore()
        assert _contacts(rt) == before
        # The same id again: a sequence replayed after a restore asks for the same rows.
        assert _add_contact(rt, organisation_id, "zwei@musterstadt.example.org") == first

        saved.restore()
        with unit_of_work(rt.sessions) as session:
            assert session.scalar(select(func.count()).select_from(Contact)) == len(before)
    finally:
        saved.drop()
