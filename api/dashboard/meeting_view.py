"""What the meeting page shows: the agenda rows to choose from, and reading its forms.

The rows join the stored agenda (ticked, named ``item:<id>``) with the proposal not yet on
it (named by ``ProposedItem.key``); a fresh meeting has every proposal ticked. Pure apart
from the proposal and agenda reads; never writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.dashboard.body_forms import MAX_TYPED, whole_number
from api.meeting_text import reason_text
from workflow.bodies.errors import BodyError
from workflow.bodies.models import Meeting
from workflow.decisions.models import Decision
from workflow.meetings import agenda
from workflow.meetings.agenda import AgendaEntry, AgendaLike, ProposedItem
from workflow.meetings.items import ref_name
from workflow.meetings.queries import agenda_of

FREE_ITEMS = 3
MAX_CHOSEN = 200


@dataclass(frozen=True)
class AgendaRow:
    key: str
    kind: str
    title: str
    reason: str
    checked: bool
    order: int
    stored: bool
    has_decision: bool = False


def _identity(kind: str, item: object) -> tuple[str, object]:
    name = ref_name(kind)
    return kind, getattr(item, name) if name else None


def agenda_rows(
    session: Session, meeting: Meeting, now: datetime, lang: str
) -> tuple[list[AgendaRow], dict[str, ProposedItem]]:
    """The rows of the agenda form, and the proposal by key (to read the form against)."""
    stored = agenda_of(session, meeting.id)
    proposal = agenda.propose_agenda(session=session, meeting_id=meeting.id, now=now)
    by_identity = {_identity(p.kind, p): p for p in proposal}
    with_decision = set(
        session.scalars(
            select(Decision.agenda_item_id).where(
                Decision.agenda_item_id.in_([i.id for i in stored])
            )
        )
    )
    rows: list[AgendaRow] = []
    for item in stored:
        proposed = (
            by_identity.pop(_identity(item.kind, item), None) if ref_name(item.kind) else None
        )
        rows.append(
            AgendaRow(
                key=f"item:{item.id}",
                kind=item.kind,
                title=item.title,
                reason=reason_text(proposed.reason, proposed.details, lang) if proposed else "",
                checked=True,
                order=len(rows) + 1,
                stored=True,
                has_decision=item.id in with_decision,
            )
        )
    fresh = not stored
    for p in by_identity.values():
        rows.append(
            AgendaRow(
                key=p.key,
                kind=p.kind,
                title=p.title,
                reason=reason_text(p.reason, p.details, lang),
                checked=fresh,
                order=len(rows) + 1,
                stored=False,
            )
        )
    return rows, {p.key: p for p in proposal}


def chosen_entries(
    session: Session, meeting: Meeting, form: FormData, proposal: dict[str, ProposedItem]
) -> list[AgendaLike]:
    """The ticked rows in the order typed (ties: as listed), then the free items."""
    stored = {f"item:{i.id}": i for i in agenda_of(session, meeting.id)}
    picked: list[tuple[int, int, AgendaLike]] = []
    for index, raw in enumerate(form.getlist("chosen")[:MAX_CHOSEN]):
        key = str(raw)[:MAX_TYPED]
        order = whole_number(str(form.get(f"order_{key}", ""))[:20])
        entry: AgendaLike
        if key in stored:
            entry = AgendaEntry(title=stored[key].title, item_id=stored[key].id)
        elif key in proposal:
            entry = proposal[key]
        else:  # the data moved on since the page was shown
            raise BodyError("proposal_gone", ref=key)
        picked.append((order if order is not None else 10_000 + index, index, entry))
    entries = [entry for _, _, entry in sorted(picked, key=lambda p: (p[0], p[1]))]
    for raw in form.getlist("free")[:FREE_ITEMS]:
        title = str(raw)[:MAX_TYPED].strip()
        if title:
            entries.append(AgendaEntry(title=title))
    return entries
