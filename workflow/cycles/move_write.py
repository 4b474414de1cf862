"""Writing one planned move: the versioned UPDATE of the stay, its audit row and its messages.

On PostgreSQL the three writes are one statement (a data-modifying CTE): the UPDATE compares
and sets the version, and the audit and outbox INSERTs read the row it returns, so a refused
compare writes nothing and the whole move costs one round trip. SQLite has no DML in a CTE;
there the same three writes are three statements, which cost no network there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Table, bindparam, func, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from notifications.models import OutboxMessage
from notifications.outbox import Draft, outbox_row
from workflow.cycles.models import AuditEvent, MeasureCycle
from workflow.driver_statement import DriverStatement

_STAY: Table = MeasureCycle.__table__  # type: ignore[assignment]
_AUDIT: Table = AuditEvent.__table__  # type: ignore[assignment]
_OUTBOX: Table = OutboxMessage.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class AuditRow:
    organisation_id: int
    at: datetime
    actor: str
    event: str
    from_state: str
    to_state: str
    payload: Mapping[str, Any]

    def values(self, measure_cycle_id: object) -> dict[str, Any]:
        return {
            "organisation_id": self.organisation_id,
            "measure_cycle_id": measure_cycle_id,
            "at": self.at,
            "actor": self.actor,
            "event": self.event,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "payload": dict(self.payload),
        }


def write_move(
    connection: Connection,
    *,
    measure_cycle_id: int,
    version: int,
    changes: Mapping[str, Any],
    audit: AuditRow,
    drafts: Sequence[Draft],
    now: datetime,
) -> bool:
    """Apply ``changes`` to the stay if it is still at ``version`` (the version goes up by
    one), with the audit row and the drafts; False, and nothing written, if it is not."""
    params: dict[str, Any] = {"mc_id": measure_cycle_id, "mc_version": version}
    params.update(_prefixed("mc_", changes))
    params.update(_prefixed("a_", audit.values(measure_cycle_id)))
    keys = tuple(changes)
    if connection.dialect.name != "postgresql":
        if _compare_and_set(keys).run(connection, params).rowcount != 1:
            return False
        _AUDIT_INSERT.run(connection, params)
        for draft in drafts:
            _SQLITE_OUTBOX_INSERT.run(connection, _prefixed("o_", outbox_row(draft, now=now)))
        return True
    for i, draft in enumerate(drafts):
        params.update(_prefixed(f"o{i}_", outbox_row(draft, now=now)))
    return _one_statement(keys, len(drafts)).run(connection, params).first()[0] == 1


def _prefixed(prefix: str, values: Mapping[str, Any]) -> dict[str, Any]:
    return {f"{prefix}{key}": value for key, value in values.items()}


# The statements are built once per shape (which columns change, how many messages) and kept:
# composing them costs more than the database takes to run them.
@cache
def _compare_and_set(keys: tuple[str, ...]) -> DriverStatement:
    return DriverStatement(_compare_and_set_statement(keys))


def _compare_and_set_statement(keys: tuple[str, ...]) -> Any:
    return (
        update(_STAY)
        .where(_STAY.c.id == bindparam("mc_id"), _STAY.c.version == bindparam("mc_version"))
        .values(
            {_STAY.c[key]: bindparam(f"mc_{key}", type_=_STAY.c[key].type) for key in keys}
            | {_STAY.c.version: bindparam("mc_version") + 1}
        )
    )


_AUDIT_COLUMNS = tuple(c.name for c in _AUDIT.columns if c.name != "id")
_AUDIT_INSERT = DriverStatement(
    _AUDIT.insert().values(
        {_AUDIT.c[key]: bindparam(f"a_{key}", type_=_AUDIT.c[key].type) for key in _AUDIT_COLUMNS}
    )
)
_OUTBOX_COLUMNS = tuple(
    outbox_row(Draft(0, "", "", ""), now=datetime(2000, 1, 1))  # only the keys are read
)
# One row per draft: a move queues one or two messages, and SQLite runs each without a trip.
_SQLITE_OUTBOX_INSERT = DriverStatement(
    sqlite.insert(_OUTBOX)
    .values(
        {
            _OUTBOX.c[key]: bindparam(f"o_{key}", type_=_OUTBOX.c[key].type)
            for key in _OUTBOX_COLUMNS
        }
    )
    .on_conflict_do_nothing(index_elements=["dedupe_key"])
)


@cache
def _one_statement(keys: tuple[str, ...], messages: int) -> DriverStatement:
    moved = _compare_and_set_statement(keys).returning(_STAY.c.id).cte("moved")
    audit = (
        _AUDIT.insert()
        .from_select(
            list(_AUDIT_COLUMNS),
            select(*_bound(_AUDIT, _AUDIT_COLUMNS, "a_", measure_cycle_id=moved.c.id)),
        )
        .cte("audit")
    )
    statement = select(func.count()).select_from(moved).add_cte(audit)
    if messages:
        selects = [
            select(*_bound(_OUTBOX, _OUTBOX_COLUMNS, f"o{i}_")).select_from(moved)
            for i in range(messages)
        ]
        source = selects[0] if messages == 1 else union_all(*selects)
        queued = (
            postgresql.insert(_OUTBOX)
            .from_select(list(_OUTBOX_COLUMNS), source)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .cte("queued")
        )
        statement = statement.add_cte(queued)
    return DriverStatement(statement)


def _bound(table: Table, keys: Sequence[str], prefix: str, **columns: Any) -> list[Any]:
    """A bound parameter of its column's type (JSON, UTC timestamps) per key, labelled;
    ``columns`` name the values read from another row instead."""
    return [
        (
            columns[key] if key in columns else bindparam(f"{prefix}{key}", type_=table.c[key].type)
        ).label(key)
        for key in keys
    ]
