"""The pipeline's counts table: folding its change rows, reading it, checking and repairing it.

Triggers (revision 0012) append a -1 and a +1 row to ``pipeline_count_change`` for every stay
that enters, leaves or moves between keys, in the transaction of the change. ``fold`` moves
those rows into ``pipeline_count`` (the sweep calls it); a reader sums both tables, so the
counts are exact whether or not a fold has run. ``check`` compares them with a full count
of the stays, in one statement and so one snapshot; ``repair`` rebuilds them while every
writer of change rows waits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Select,
    String,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import Subquery

from workflow.catalogue.models import Measure
from workflow.cycles.models import NO_DEADLINE, MeasureCycle, PipelineCount, PipelineCountChange

Key = tuple[int, int, int, str, int, date]
_KEY = ("cycle_id", "goal_id", "department_id", "state", "escalation_level", "due_by")
# Any fixed number: PostgreSQL's advisory lock that lets one fold run at a time.
_FOLD_LOCK = 7_012_001


def kept_rows(
    where: Callable[[type[PipelineCount] | type[PipelineCountChange]], ColumnElement[bool]]
    | None = None,
) -> Subquery:
    """Folded counts and unfolded changes as one row source of (key..., n); sum ``n`` per key.

    ``where`` filters each of the two tables (given the table's class), so the filter reaches
    the primary key's index instead of being applied to the union of both.
    """
    branches = []
    for table in (PipelineCount, PipelineCountChange):
        branch = select(*(getattr(table, k) for k in _KEY), table.n)
        branches.append(branch if where is None else branch.where(where(table)))
    return union_all(*branches).subquery("kept")


def fold(session: Session) -> int:
    """Move the change rows into the counts; returns how many were folded."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_FOLD_LOCK)))
        # One statement, one snapshot: a change committed meanwhile is neither summed nor
        # deleted, and is folded next time.
        moved = session.execute(
            text(
                f"WITH moved AS (DELETE FROM pipeline_count_change RETURNING {', '.join(_KEY)}, n), "
                f"summed AS (SELECT {', '.join(_KEY)}, sum(n) AS n, count(*) AS rows FROM moved "
                f"GROUP BY {', '.join(_KEY)}), "
                f"written AS (INSERT INTO pipeline_count ({', '.join(_KEY)}, n) "
                f"SELECT {', '.join(_KEY)}, n FROM summed "
                f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET n = pipeline_count.n + excluded.n) "
                "SELECT coalesce(sum(rows), 0) FROM summed"
            )
        ).scalar_one()
    else:
        # SQLite has one writer at a time: nothing can commit between these statements.
        # Always the same statements, found rows or not, so a sweep's cost does not vary.
        last = session.scalar(select(func.max(PipelineCountChange.id))) or 0
        session.execute(
            text(
                f"INSERT INTO pipeline_count ({', '.join(_KEY)}, n) "
                f"SELECT {', '.join(_KEY)}, sum(n) FROM pipeline_count_change WHERE id <= :last "
                f"GROUP BY {', '.join(_KEY)} "
                f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET n = pipeline_count.n + excluded.n"
            ),
            {"last": last},
        )
        gone = session.execute(delete(PipelineCountChange).where(PipelineCountChange.id <= last))
        moved = cast(CursorResult[Any], gone).rowcount
    session.execute(delete(PipelineCount).where(PipelineCount.n == 0))
    return int(moved or 0)


def _truth() -> Select[int, int, int, str, int, date, int]:
    due_by = func.coalesce(MeasureCycle.due_on, NO_DEADLINE)
    return (
        select(
            MeasureCycle.cycle_id,
            Measure.goal_id,
            Measure.department_id,
            MeasureCycle.state,
            MeasureCycle.escalation_level,
            due_by.label("due_by"),
            func.count().label("n"),
        )
        .join(Measure, Measure.id == MeasureCycle.measure_id)
        .group_by(
            MeasureCycle.cycle_id,
            Measure.goal_id,
            Measure.department_id,
            MeasureCycle.state,
            MeasureCycle.escalation_level,
            due_by,
        )
    )


@dataclass(frozen=True)
class Difference:
    key: Key
    kept: int
    counted: int


def _key(row: Iterable[Any]) -> Key:
    cycle_id, goal_id, department_id, state, level, due_by = row
    if isinstance(due_by, str):  # SQLite hands back a UNION's dates as text
        due_by = date.fromisoformat(due_by)
    return (int(cycle_id), int(goal_id), int(department_id), str(state), int(level), due_by)


def check(session: Session) -> list[Difference]:
    """Every key whose kept count differs from a full count of the stays; empty if none."""
    kept = kept_rows()
    truth = _truth().subquery("truth")
    both = union_all(
        select(*(kept.c[k] for k in _KEY), func.sum(kept.c.n), literal("kept", String)).group_by(
            *(kept.c[k] for k in _KEY)
        ),
        select(*(truth.c[k] for k in _KEY), truth.c.n, literal("counted", String)),
    )
    kept_n: dict[Key, int] = {}
    counted_n: dict[Key, int] = {}
    for *key, n, source in session.execute(both):
        (kept_n if source == "kept" else counted_n)[_key(key)] = int(n)
    return [
        Difference(key, kept_n.get(key, 0), counted_n.get(key, 0))
        for key in sorted(set(kept_n) | set(counted_n), key=repr)
        if kept_n.get(key, 0) != counted_n.get(key, 0)
    ]


def repair(session: Session) -> int:
    """Rebuild the counts from the stays; returns how many keys were wrong before."""
    if session.get_bind().dialect.name == "postgresql":
        # Writers of change rows (every transition) wait until this commits; one that has
        # already written its row holds its lock, so this waits for it to commit first.
        session.execute(text("LOCK TABLE pipeline_count_change IN EXCLUSIVE MODE"))
    wrong = len(check(session))
    session.execute(delete(PipelineCountChange))
    session.execute(delete(PipelineCount))
    truth = _truth()
    session.execute(insert(PipelineCount).from_select([*_KEY, "n"], truth))
    return wrong
