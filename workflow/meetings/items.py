"""What a proposed agenda item is, and what a body looks at: the scope of its proposal.

Pure data and one read (the body's fields); never writes. The sources that fill the proposal
are workflow/meetings/sources.py (measures) and workflow/meetings/follow_ups.py (indicators
and open decisions).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from workflow.bodies.models import Body, BodyScope
from workflow.bodies.queries import field_ids_of
from workflow.catalogue.models import Goal
from workflow.meetings.models import AgendaKind

TITLE_LIMIT = 300
_REF_OF_KIND = {
    AgendaKind.FIELD_REPORT.value: "field_id",
    AgendaKind.DROP_PROPOSAL.value: "measure_cycle_id",
    AgendaKind.REVIEW_ACCEPTANCE.value: "measure_cycle_id",
    AgendaKind.ESCALATION.value: "measure_cycle_id",
    AgendaKind.INDICATOR_OFF_TRACK.value: "indicator_id",
    AgendaKind.OPEN_DECISION.value: "decision_id",
}


def ref_name(kind: str) -> str | None:
    """The reference column an item of ``kind`` needs; None for a free item."""
    return _REF_OF_KIND.get(kind)


@dataclass(frozen=True, eq=False)
class ProposedItem:
    """One proposed agenda item; ``reason`` is a code, ``details`` its parameters."""

    kind: str
    title: str
    field_id: int | None = None
    measure_cycle_id: int | None = None
    indicator_id: int | None = None
    decision_id: int | None = None
    reason: str = ""
    details: Mapping[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> int | None:
        name = ref_name(self.kind)
        value = getattr(self, name) if name else None
        return value if isinstance(value, int) else None

    @property
    def key(self) -> str:
        """Names the item across requests, e.g. ``field_report:3`` (a form's checkbox value)."""
        return f"{self.kind}:{self.ref if self.ref is not None else ''}"


@dataclass(frozen=True)
class Scope:
    """What a body looks at: every field, some fields, or indicators only."""

    organisation_id: int
    field_ids: frozenset[int] | None  # None: all fields
    measures: bool  # False for a body of indicators only

    @classmethod
    def of(cls, session: Session, body: Body) -> Scope:
        fields = None
        if body.scope == BodyScope.SOME_FIELDS.value:
            fields = frozenset(field_ids_of(session, body_id=body.id))
        return cls(body.organisation_id, fields, body.scope != BodyScope.INDICATORS.value)

    def field_clause(self) -> list[ColumnElement[bool]]:
        return [] if self.field_ids is None else [Goal.field_id.in_(self.field_ids)]


def title_of(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())[:TITLE_LIMIT]
