"""Which organisations are active: an archived one keeps its data but sends nothing.

Kept apart from manage.py so that the sweep and the sender can import it without the rules.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from workflow.catalogue.models import Organisation

ACTIVE: ColumnElement[bool] = Organisation.archived_at.is_(None)


def active_organisation_ids(session: Session) -> list[int]:
    """Ids of the organisations that are not archived, the only ones anything is sent for."""
    return list(session.scalars(select(Organisation.id).where(ACTIVE).order_by(Organisation.id)))


def of_active_organisation(column: InstrumentedAttribute[int]) -> ColumnElement[bool]:
    """A WHERE condition for rows whose ``organisation_id`` column is an active organisation:
    ``select(MeasureCycle).where(of_active_organisation(MeasureCycle.organisation_id))``."""
    return column.in_(select(Organisation.id).where(ACTIVE))


def in_active_organisation(column: InstrumentedAttribute[int]) -> ColumnElement[bool]:
    """The same condition as EXISTS per row, for a query that finds its few rows through
    another index: given the list of ``of_active_organisation``, SQLite reads the whole
    table to match it against the list instead."""
    return exists().where(Organisation.id == column, ACTIVE)
