"""A meeting's agenda: proposed from the data, then chosen and ordered by the coordinator.

``propose_agenda`` reads (workflow/meetings/sources.py and follow_ups.py); ``set_agenda`` stores the chosen
items as TOP 1..n and never commits. Re-setting keeps the minutes of items that stay and
never deletes an item a decision was recorded under. Refusals are ``BodyError``s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.bodies.checks import text
from workflow.bodies.errors import BodyError
from workflow.bodies.models import Body, Meeting
from workflow.catalogue.models import Field, Organisation
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import MeasureCycle
from workflow.db import Base
from workflow.decisions.models import Decision
from workflow.indicators.models import Indicator
from workflow.meetings import follow_ups, sources
from workflow.meetings.items import TITLE_LIMIT, ProposedItem, Scope, ref_name
from workflow.meetings.models import AgendaItem, AgendaKind
from workflow.meetings.queries import agenda_of

__all__ = ["AgendaEntry", "ProposedItem", "propose_agenda", "set_agenda"]
MAX_ITEMS = 100
_TABLES: dict[str, tuple[type[Base], str]] = {
    "field_id": (Field, "field_not_found"),
    "measure_cycle_id": (MeasureCycle, "measure_cycle_not_found"),
    "indicator_id": (Indicator, "indicator_not_found"),
    "decision_id": (Decision, "decision_not_found"),
}
_REFS = tuple(_TABLES)


class AgendaLike(Protocol):
    """What ``set_agenda`` reads from an entry: a ``ProposedItem`` or an ``AgendaEntry``."""

    @property
    def kind(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def field_id(self) -> int | None: ...
    @property
    def measure_cycle_id(self) -> int | None: ...
    @property
    def indicator_id(self) -> int | None: ...
    @property
    def decision_id(self) -> int | None: ...


@dataclass(frozen=True)
class AgendaEntry:
    """An item to store; ``item_id`` keeps a stored item (its kind, reference and minutes)
    and takes only the title and the position from the entry."""

    kind: str = AgendaKind.OTHER.value
    title: str = ""
    field_id: int | None = None
    measure_cycle_id: int | None = None
    indicator_id: int | None = None
    decision_id: int | None = None
    item_id: int | None = None


def _meeting(session: Session, meeting_id: int) -> tuple[Meeting, Body]:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise BodyError("meeting_not_found", ref=str(meeting_id))
    body = session.get(Body, meeting.body_id)
    assert body is not None  # FK
    return meeting, body


def propose_agenda(*, session: Session, meeting_id: int, now: datetime) -> list[ProposedItem]:
    """Everything the data puts before this body now, within its scope, one item each.

    Open decisions come first (a meeting starts with what the last ones left open), then the
    field reports, drop proposals, reviews to accept, escalations and indicators off track.
    A body of indicators only gets indicator items and open decisions.
    """
    meeting, body = _meeting(session, meeting_id)
    org = session.get(Organisation, body.organisation_id)
    assert org is not None  # FK
    scope = Scope.of(session, body)
    items = follow_ups.open_decisions_of_earlier_meetings(session, meeting)
    if scope.measures:
        items += sources.field_reports(session, scope)
        items += sources.unique_by_measure(
            [
                *sources.drop_proposals(session, scope),
                *sources.reviews_to_accept(session, scope),
                *sources.escalations(session, scope),
            ]
        )
    items += follow_ups.indicators_off_track(session, scope, calendar_of(org).local_date(now))
    return items


@dataclass(frozen=True)
class _Checked:
    kind: str
    title: str
    refs: dict[str, int | None]
    item_id: int | None

    @property
    def identity(self) -> tuple[str, int | None] | None:
        name = ref_name(self.kind)
        return (self.kind, self.refs[name]) if name else None


def _owned(session: Session, organisation_id: int, name: str, value: int) -> None:
    model, code = _TABLES[name]
    row = session.get(model, value)
    if row is None or getattr(row, "organisation_id", None) != organisation_id:
        raise BodyError(code, ref=str(value))


def _check(session: Session, organisation_id: int, entry: AgendaLike) -> _Checked:
    item_id = getattr(entry, "item_id", None)
    title = text(entry.title, "agenda_title_invalid", TITLE_LIMIT)
    if item_id is not None:
        return _Checked("", title, {}, item_id)
    allowed = [k.value for k in AgendaKind]
    if entry.kind not in allowed:
        raise BodyError("unknown_agenda_kind", value=entry.kind, allowed=", ".join(allowed))
    name = ref_name(entry.kind)
    refs: dict[str, int | None] = dict.fromkeys(_REFS)
    if name is not None:  # only the reference its kind needs is kept
        value = getattr(entry, name)
        if value is None:
            raise BodyError("agenda_reference_missing", kind=entry.kind)
        _owned(session, organisation_id, name, value)
        refs[name] = value
    return _Checked(entry.kind, title, refs, None)


def _match(
    checked: list[_Checked], existing: list[AgendaItem]
) -> list[tuple[_Checked, AgendaItem | None]]:
    by_id = {i.id: i for i in existing}
    by_identity = {
        (i.kind, getattr(i, ref_name(i.kind) or "id")): i
        for i in existing
        if ref_name(i.kind) is not None
    }
    used: set[int] = set()
    identities: set[tuple[str, int | None]] = set()
    plan: list[tuple[_Checked, AgendaItem | None]] = []
    for c in checked:
        if c.item_id is not None:
            item = by_id.get(c.item_id)
            if item is None:
                raise BodyError("agenda_item_not_found", ref=str(c.item_id))
        else:
            item = by_identity.get(c.identity) if c.identity else None
        identity = c.identity or ((item.kind, item.id) if item is not None else None)
        if (item is not None and item.id in used) or (identity and identity in identities):
            raise BodyError("agenda_item_twice", title=c.title)
        if item is not None:
            used.add(item.id)
        if identity:
            identities.add(identity)
        plan.append((c, item))
    return plan


def set_agenda(
    *, session: Session, meeting_id: int, items: Sequence[AgendaLike], now: datetime
) -> list[AgendaItem]:
    """Store ``items`` in this order as TOP 1..n; returns the whole agenda.

    An item that stays (same kind and reference, or named by ``item_id``) keeps its minutes.
    Items left out are deleted, except those a decision was recorded under: they stay,
    after the chosen ones. ``now`` is the caller's clock; the agenda keeps no timestamp.
    """
    meeting, body = _meeting(session, meeting_id)
    if len(items) > MAX_ITEMS:
        raise BodyError("agenda_too_long", limit=str(MAX_ITEMS))
    checked = [_check(session, body.organisation_id, entry) for entry in items]
    existing = agenda_of(session, meeting.id)
    plan = _match(checked, existing)
    kept = {item.id for _, item in plan if item is not None}
    attached = set(
        session.scalars(
            select(Decision.agenda_item_id).where(
                Decision.agenda_item_id.in_([i.id for i in existing])
            )
        )
    )
    position = 0
    for c, item in plan:
        position += 1
        if item is None:
            session.add(
                AgendaItem(
                    meeting_id=meeting.id,
                    position=position,
                    kind=c.kind,
                    title=c.title,
                    minutes="",
                    **c.refs,
                )
            )
        else:
            item.position, item.title = position, c.title
    for item in existing:
        if item.id in kept:
            continue
        if item.id in attached:
            position += 1
            item.position = position
        else:
            session.delete(item)
    session.flush()
    return agenda_of(session, meeting.id)
