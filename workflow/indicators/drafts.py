"""Unsent values of the data-delivery form, kept exactly as typed so that closing the tab loses
nothing; never validates and never commits.

Posted fields are named ``r-<data_request_id>-<field>``; only the fields the request's form
shows for its unit are kept, each cut to a sane length, and only for requests in the link's
scope. One draft per request, whoever of the source's people typed it (the later write wins).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from workflow.indicators.models import DataDraft, DataRequest, Unit
from workflow.indicators.validation import BASE_FIELDS, MAX_TEXT, SCALE_POINTS

RawAnswers = dict[str, str]
_CUT = MAX_TEXT + 1  # one more than allowed, so validation can still say "too long"
_UPDATED = ("answers", "updated_at", "updated_by")


def fields_of(request: DataRequest) -> set[str]:
    """The field names the form shows for this request (``api/pages/forms/data_delivery.html``)."""
    indicator = request.indicator
    names = {"survey_date", "comment"}
    if indicator.unit == Unit.TEXT:
        return names | {"report"}
    if indicator.unit == Unit.SCALE:
        return names | {f"c{p}" for p in range(1, SCALE_POINTS + 1)}
    districts = len(indicator.districts or [])
    return names | {"value", *BASE_FIELDS} | {f"value-{i}" for i in range(districts)}


# A cell's fields (``validation.cell_prefix``): how many cells there are is the dimension
# list's business, so any cell number is kept and the form shows those it knows.
_CELL_FIELD = re.compile(r"^k[1-9][0-9]{0,2}-(value|num|den|pop)$")


def clean_raw(request: DataRequest, raw: Mapping[str, str]) -> RawAnswers:
    known = fields_of(request)
    numeric = request.indicator.unit not in (Unit.TEXT, Unit.SCALE)
    return {k: v[:_CUT] for k, v in raw.items() if k in known or (numeric and _CELL_FIELD.match(k))}


def save_data_drafts(
    *,
    session: Session,
    requests: Iterable[tuple[DataRequest, DataDraft | None]],
    posted: Mapping[int, RawAnswers],
    actor: str,
    now: datetime,
) -> int:
    """Store what was typed for every in-scope request that was posted; returns how many."""
    rows = []
    for request, draft in requests:
        if request.id not in posted:
            continue
        answers = clean_raw(request, posted[request.id])
        if draft is not None and draft.answers == answers:
            continue
        rows.append(
            {
                "data_request_id": request.id,
                "answers": answers,
                "updated_at": now,
                "updated_by": actor,
            }
        )
    if not rows:
        return 0
    # Two tabs may autosave the same request at once: the later write wins, neither fails.
    dialect = session.get_bind().dialect.name
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(DataDraft)
        stmt = stmt.on_conflict_do_update(
            index_elements=["data_request_id"], set_={c: stmt.excluded[c] for c in _UPDATED}
        )
    elif dialect == "sqlite":
        stmt = sqlite.insert(DataDraft)
        stmt = stmt.on_conflict_do_update(
            index_elements=["data_request_id"], set_={c: stmt.excluded[c] for c in _UPDATED}
        )
    else:  # pragma: no cover - only the two supported databases
        stmt = insert(DataDraft)
    session.execute(stmt, rows)
    session.expire_all()  # the ORM's copies of the drafts are stale now
    return len(rows)


def discard_data_drafts(session: Session, request_ids: Iterable[int]) -> None:
    ids = list(request_ids)
    if ids:
        session.execute(delete(DataDraft).where(DataDraft.data_request_id.in_(ids)))
