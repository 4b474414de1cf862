"""Pages of the measures-in-cycle list by position (keyset) or by number, with one sort order.

A page asked by number carries the total (summed from the pipeline's counts table where the
filter allows, ``queries.count_items``) and skips to ``offset``, which reads all rows before
it; a page asked after a cursor starts at the sort key of the previous page's last row and
counts nothing, so its cost does not grow with the page's position. Both sort by the list's
order (``queries.ORDERS``) and then by id, so the key is unique and a keyset walk meets every
row exactly once, in the order the numbered pages show.

The filters, joins and columns are those of ``queries.list_items``; nothing here decides what
a list shows.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    Subquery,
    and_,
    bindparam,
    false,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.orm import Session

from workflow.catalogue.models import Contact, Goal, Measure
from workflow.cycles.models import Cycle, MeasureCycle
from workflow.cycles.queries import (
    _ITEM_COLUMNS,
    ORDERS,
    ItemFilter,
    ItemRow,
    _filtered,
    _joined,
    count_items,
    filter_shape,
    filter_values,
)

# The sort key after the list's order: (column of the stay, the ItemRow attribute holding its
# value). All on the stay, so that a page is picked from the stays alone.
_KEYS: dict[str, tuple[tuple[Any, str], ...]] = {
    "code": ((MeasureCycle.measure_code, "measure_code"), (MeasureCycle.id, "id")),
    "due": (
        (MeasureCycle.due_on, "due_on"),
        (MeasureCycle.measure_code, "measure_code"),
        (MeasureCycle.id, "id"),
    ),
    "state": (
        (MeasureCycle.state, "state"),
        (MeasureCycle.measure_code, "measure_code"),
        (MeasureCycle.id, "id"),
    ),
}
# What the page takes from each stay: the list's columns of the stay and the sort key.
_STAY_COLUMNS: tuple[Any, ...] = (
    MeasureCycle.id,
    MeasureCycle.cycle_id,
    MeasureCycle.state,
    MeasureCycle.version,
    MeasureCycle.due_on,
    MeasureCycle.entered_state_at,
    MeasureCycle.escalation_level,
    MeasureCycle.measure_id,
    MeasureCycle.measure_code,
)
# Only ``due_on`` may be null, and it sorts last (``ORDERS["due"]``).
_NULLABLE = {"due_on"}
_MAX_CURSOR = 2000
# For the rest of the request's transaction only (``set_config(..., true)`` is ``SET LOCAL``):
# no parallel workers, the joins in the order written, and index reads priced as the reads
# from memory they are for a list clicked through page by page (see ``list_page``).
_PLANNER = text(
    "SELECT set_config('max_parallel_workers_per_gather', '0', true), "
    "set_config('join_collapse_limit', '1', true), "
    "set_config('random_page_cost', '1.1', true)"
)


class CursorInvalid(ValueError):
    """The ``after`` cursor is not one this list handed out for this order."""


@dataclass(frozen=True)
class Page:
    rows: list[ItemRow]
    total: int | None
    next: str | None


def encode_cursor(order: str, row: ItemRow) -> str:
    key = [_json_value(getattr(row, attr)) for _col, attr in _KEYS[order]]
    raw = json.dumps({"o": order, "k": key}, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _json_value(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def decode_cursor(order: str, cursor: str) -> list[Any]:
    """The sort key in ``cursor``; raises CursorInvalid for anything this module did not write."""
    if len(cursor) > _MAX_CURSOR:
        raise CursorInvalid("too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw.decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise CursorInvalid("not base64 JSON") from None
    if not isinstance(data, dict) or data.get("o") != order:
        raise CursorInvalid("another order")
    key = data.get("k")
    keys = _KEYS[order]
    if not isinstance(key, list) or len(key) != len(keys):
        raise CursorInvalid("wrong key length")
    return [_key_value(attr, value) for (_col, attr), value in zip(keys, key, strict=True)]


def _key_value(attr: str, value: object) -> object:
    if attr == "id":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
            raise CursorInvalid("id")
        return value
    if attr in _NULLABLE:
        if value is None:
            return None
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise CursorInvalid("date") from None
    if not isinstance(value, str) or len(value) > 500:
        raise CursorInvalid(attr)
    return value


def _after(order: str, nulls: tuple[bool, ...]) -> ColumnElement[bool]:
    """Rows strictly after the cursor's key in the order of ``_KEYS[order]`` (nulls last);
    ``nulls`` tells which of the key's values are null, each other one is the parameter
    ``after_<attribute>``."""
    condition: ColumnElement[bool] = false()
    given: dict[str, Any] = {attr: bindparam(f"after_{attr}") for _column, attr in _KEYS[order]}
    # From the last column to the first: (a, rest) > (x, rest') ⇔ a > x or (a = x and rest > rest').
    for (column, attr), null in reversed(list(zip(_KEYS[order], nulls, strict=True))):
        value = given[attr]
        if null:
            condition = and_(column.is_(None), condition)
        elif attr in _NULLABLE:
            condition = or_(column > value, column.is_(None), and_(column == value, condition))
        else:
            condition = or_(column > value, and_(column == value, condition))
    first_column, first_attr = _KEYS[order][0]
    first = given[first_attr]
    # Redundant with the condition above, but a plain range on the leading column lets the
    # planner start an index scan there instead of reading from the beginning.
    if nulls[0]:
        return and_(first_column.is_(None), condition)
    if first_attr in _NULLABLE:
        return and_(or_(first_column >= first, first_column.is_(None)), condition)
    return and_(first_column >= first, condition)


def list_page(
    session: Session,
    *,
    cycle: Cycle,
    today: date,
    f: ItemFilter,
    order: str,
    limit: int,
    offset: int = 0,
    after: str | None = None,
) -> Page:
    """One page: after the cursor ``after`` (no total) or at ``offset`` (with the total).

    Raises CursorInvalid for a cursor this list did not hand out for ``order``.
    """
    order = order if order in _KEYS else "code"
    params: dict[str, Any] = {
        "organisation_id": cycle.organisation_id,
        "cycle_id": cycle.id,
        "today": today,
        "limit": limit + 1,
        "offset": offset,
        **filter_values(f),
    }
    nulls: tuple[bool, ...] | None = None
    if after is not None:
        key = decode_cursor(order, after)
        nulls = tuple(value is None for value in key)
        params.update(
            (f"after_{attr}", value)
            for (_column, attr), value in zip(_KEYS[order], key, strict=True)
        )
    skip = after is None and offset > 0
    shape = (order, nulls, skip, *filter_shape(f))
    query = _PAGES.get(shape)
    if query is None:
        query = _PAGES[shape] = _page_statement(order, f, nulls, skip)
    if session.get_bind().dialect.name == "postgresql":
        # A page stops after limit + 1 rows; PostgreSQL plans the walk of a large list with
        # parallel workers whose start alone took 15 ms at a million stays. The order written
        # in ``_page_statement`` (the page's few rows first, then each table they point to) is
        # the best one, and searching the others took two thirds of the planning
        # (bench/FINDINGS.md). At the default price of a random read (4), a page of 50 at 10k
        # stays was joined by reading all measures into a hash, 1.3 ms against 0.8 ms through
        # their primary key.
        session.connection().execute(_PLANNER)
    # One row more than the page tells whether another page follows, without counting. On the
    # connection, not through the ORM: the page is plain columns, read in a read request's
    # transaction (the ORM's part of an execution cost a third of the client's time for it).
    rows_read = session.connection().execute(query, params)
    found = [ItemRow(**r._mapping, today=today) for r in rows_read]
    rows = found[:limit]
    total = None
    if after is None:
        total = count_items(session, cycle_id=cycle.id, today=today, f=f)
    following = encode_cursor(order, rows[-1]) if len(found) > limit else None
    return Page(rows=rows, total=total, next=following)


# The page statements, built once for each order, cursor shape and combination of filters:
# building one took 0.7 ms of a request (bench/FINDINGS.md).
_PAGES: dict[tuple[Any, ...], Select[Any]] = {}


def _page_statement(
    order: str, f: ItemFilter, nulls: tuple[bool, ...] | None, skip: bool
) -> Select[Any]:
    """The page for ``f``'s filters (``filter_values``), after a cursor whose null values are
    ``nulls`` or, with ``skip``, at ``offset``; ``limit`` rows at most."""
    position: ColumnElement[bool] = true() if nulls is None else _after(order, nulls)
    # The page's stays first, sorted and cut on the stay's own columns (the index on
    # (organisation_id, measure_code, id) serves the order by code); only those rows are then
    # joined to their measure, goal, field, department and contact, never to the stays again.
    picked = _filtered(
        _joins_for(select(*_STAY_COLUMNS), f).where(
            MeasureCycle.organisation_id == bindparam("organisation_id"), position
        ),
        bindparam("cycle_id"),
        f,
        bindparam("today", type_=Date()),
        bound=True,
    ).order_by(*ORDERS[order], MeasureCycle.id)
    if skip:
        picked = picked.offset(bindparam("offset"))
    page = picked.limit(bindparam("limit")).subquery("page")
    return (
        _joined(
            select(*_on_page(page)).select_from(page).join(Cycle, Cycle.id == page.c.cycle_id),
            measure_id=page.c.measure_id,
        )
        .outerjoin(Contact, Contact.id == Measure.contact_id)
        .order_by(*_page_order(order, page))
    )


def _on_page(page: Subquery) -> list[Any]:
    """``_ITEM_COLUMNS`` with the stay's own columns taken from the picked page."""
    return [
        page.c[column.key].label(column.key)
        if getattr(column, "class_", None) is MeasureCycle
        else column
        for column in _ITEM_COLUMNS
    ]


def _joins_for(query: Select[Any], f: ItemFilter) -> Select[Any]:
    """The stays with just the tables ``f``'s filters name (``queries._filtered``)."""
    by_goal = f.field_id is not None or f.goal_rank is not None
    if f.department_id is None and f.contact_id is None and not by_goal:
        return query
    query = query.join(Measure, Measure.id == MeasureCycle.measure_id)
    return query.join(Goal, Goal.id == Measure.goal_id) if by_goal else query


def _page_order(order: str, page: Subquery) -> list[ColumnElement[Any]]:
    """``ORDERS[order]`` and then id, on the picked page's columns."""
    columns: list[ColumnElement[Any]] = [page.c[column.key] for column, _attr in _KEYS[order]]
    if order == "due":
        columns[0] = columns[0].asc().nulls_last()
    return columns
