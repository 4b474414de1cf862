"""What the council paper (Mitteilungsvorlage) says for one cycle; reads only, never writes.

The stored parts (``council_models``: subject, public or not, Beratungsfolge, Anlagen, the
introduction and each field's assessment) are merged with figures computed by the other
reports' queries (``data.status_quo``, ``rates``, ``pending``), and with defaults where
nothing is stored yet. The figures are put into plain German sentences here because the
paper is a German document for the council; the renderers (``council_render``) only lay
the result out. Never asks the clock: the report date comes from the scope.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.bodies.models import Body, Meeting
from workflow.catalogue.models import Field
from workflow.machine import State
from workflow.reports import data, pending, rates
from workflow.reports.council_models import CouncilFieldText, CouncilPaper
from workflow.reports.district_data import DistrictPart, district_part
from workflow.reports.german import number
from workflow.terms import terms_for

DEFAULT_SUBJECT = "Integrationsplan: Kurzbericht zum Stand der Umsetzung {year}"
DEFAULT_ATTACHMENT = "Jahresbericht {year} (PDF)"


@dataclass(frozen=True)
class Consultation:
    """One row of the Beratungsfolge: a body and the day it takes the paper (None: open)."""

    body: str
    on: date | None


@dataclass(frozen=True)
class FieldSection:
    field_id: int
    code: str
    name: str
    measures: int
    implementing: int  # in the phase Umsetzung on the report date
    agreed: int  # target agreements concluded ("umsetzen") in this cycle
    completed: int
    overdue: int  # a deadline has passed and a step is still owed
    assessment: str  # the body's stored text; "" when none is written yet

    @property
    def figures(self) -> str:
        return figures_text(self)


@dataclass(frozen=True)
class CouncilPaperData:
    organisation: str
    office: str
    council: str  # the organisation's council (workflow/terms.py): who takes note
    year: int
    report_date: date
    subject: str
    public: bool
    consultation: tuple[Consultation, ...]
    introduction: str
    fields: tuple[FieldSection, ...]
    attachments: tuple[str, ...]
    measures: int
    implementing: int
    agreed: int
    completed: int
    overdue: int
    # District part (issue 15, item 4): the towns for the Kreistag; None for anyone else.
    district: DistrictPart | None = None

    @property
    def summary(self) -> str:
        return summary_text(self)


def counted(n: int, one: str, many: str) -> str:
    """3 -> "3 Maßnahmen", 1 -> "1 Maßnahme": real plurals, never "Maßnahme(n)"."""
    return f"{number(n)} {one if n == 1 else many}"


def figures_text(s: FieldSection) -> str:
    """A field's figures in plain words, e.g. "Zum Handlungsfeld gehören 4 Maßnahmen. …"."""
    if s.measures == 0:
        return "Zu diesem Handlungsfeld gehören im Zyklus keine Maßnahmen."
    verb = "gehört" if s.measures == 1 else "gehören"
    parts = [f"Zum Handlungsfeld {verb} {counted(s.measures, 'Maßnahme', 'Maßnahmen')}."]
    parts.append(_state_sentence(s.implementing, s.completed))
    parts.append(_agreed_sentence(s.agreed))
    parts.append(_overdue_sentence(s.overdue))
    return " ".join(parts)


def summary_text(p: CouncilPaperData) -> str:
    """The whole cycle's figures in one short paragraph, before the fields."""
    verb = "umfasst"
    return " ".join(
        (
            f"Der Zielvereinbarungszyklus {p.year} {verb} "
            f"{counted(p.measures, 'Maßnahme', 'Maßnahmen')}.",
            _state_sentence(p.implementing, p.completed),
            _agreed_sentence(p.agreed),
            _overdue_sentence(p.overdue),
        )
    )


def _state_sentence(implementing: int, completed: int) -> str:
    def be(n: int) -> str:
        return "ist" if n == 1 else "sind"

    if implementing == 0 and completed == 0:
        return "Keine davon ist derzeit in Umsetzung oder abgeschlossen."
    if completed == 0:
        return f"Davon {be(implementing)} {number(implementing)} in Umsetzung."
    if implementing == 0:
        return f"Davon {be(completed)} {number(completed)} abgeschlossen."
    return (
        f"Davon {be(implementing)} {number(implementing)} in Umsetzung und "
        f"{number(completed)} abgeschlossen."
    )


def _agreed_sentence(agreed: int) -> str:
    if agreed == 0:
        return "Es wurde noch keine Zielvereinbarung geschlossen."
    if agreed == 1:
        return "1 Zielvereinbarung wurde geschlossen."
    return f"{number(agreed)} Zielvereinbarungen wurden geschlossen."


def _overdue_sentence(overdue: int) -> str:
    if overdue == 0:
        return "Bei keiner Maßnahme ist eine Frist überschritten."
    return f"Bei {counted(overdue, 'Maßnahme', 'Maßnahmen')} ist eine Frist überschritten."


def council_paper(session: Session, scope: data.Scope) -> CouncilPaperData:
    """The paper for the scope's cycle: stored parts where written, defaults elsewhere."""
    year = scope.cycle.year
    stored = session.scalars(
        select(CouncilPaper).where(CouncilPaper.cycle_id == scope.cycle.id)
    ).first()
    texts = dict(
        session.execute(
            select(CouncilFieldText.field_id, CouncilFieldText.text).where(
                CouncilFieldText.cycle_id == scope.cycle.id
            )
        ).all()
    )
    fields = _field_sections(session, scope, texts)
    return CouncilPaperData(
        organisation=scope.organisation.name,
        office=scope.organisation.office_name,
        council=terms_for(scope.organisation, "de").council,
        year=year,
        report_date=scope.report_date,
        subject=(stored.subject if stored and stored.subject else DEFAULT_SUBJECT.format(year=year)),
        public=stored.public if stored else True,
        consultation=(
            _stored_consultation(stored.consultation)
            if stored and stored.consultation
            else default_consultation(session, scope)
        ),
        introduction=stored.introduction if stored else "",
        fields=fields,
        attachments=(
            tuple(str(a.get("title", "")) for a in stored.attachments if a.get("title"))
            if stored and stored.attachments
            else (DEFAULT_ATTACHMENT.format(year=year),)
        ),
        measures=sum(f.measures for f in fields),
        implementing=sum(f.implementing for f in fields),
        agreed=sum(f.agreed for f in fields),
        completed=sum(f.completed for f in fields),
        overdue=sum(f.overdue for f in fields),
        district=district_part(session, scope),  # District part (issue 15, item 4).
    )


def _field_sections(
    session: Session, scope: data.Scope, texts: dict[int, str]
) -> tuple[FieldSection, ...]:
    blocks = data.status_quo(session, scope).fields
    agreed = {row.key: row.tally.agreed for row in rates.cycle_rates(session, scope.cycle).by_field}
    late = Counter(i.field_code for i in pending.late_items(session, scope.cycle, scope.report_date))
    ids = dict(
        session.execute(
            select(Field.code, Field.id).where(Field.organisation_id == scope.organisation.id)
        ).all()
    )
    out = []
    for block in blocks:
        states = Counter(r.state for g in block.goals for r in g.rows)
        field_id = ids[block.code]
        out.append(
            FieldSection(
                field_id=field_id,
                code=block.code,
                name=block.name,
                measures=sum(states.values()),
                implementing=states.get(State.IMPLEMENTATION.value, 0),
                agreed=agreed.get(block.code, 0),
                completed=states.get(State.COMPLETED.value, 0),
                overdue=late.get(block.code, 0),
                assessment=texts.get(field_id, ""),
            )
        )
    return tuple(out)


def _stored_consultation(rows: list[dict[str, object]]) -> tuple[Consultation, ...]:
    out = []
    for row in rows:
        text = str(row.get("date") or "")
        try:
            on = date.fromisoformat(text) if text else None
        except ValueError:  # stored by hand or by an older version: show it as open
            on = None
        out.append(Consultation(str(row.get("body", "")), on))
    return tuple(out)


def default_consultation(session: Session, scope: data.Scope) -> tuple[Consultation, ...]:
    """Each body with a meeting in the cycle's time, with its next meeting from the report
    date on (else its last one in the cycle), earliest first."""
    rows = session.execute(
        select(Body.name, Meeting.held_on)
        .join(Meeting, Meeting.body_id == Body.id)
        .where(
            Body.organisation_id == scope.organisation.id,
            Meeting.held_on >= scope.cycle.starts_on,
            Meeting.held_on <= scope.cycle.ends_on,
        )
        .order_by(Body.name, Meeting.held_on)
    ).all()
    days: dict[str, list[date]] = {}
    for name, held_on in rows:
        days.setdefault(name, []).append(held_on)
    chosen = []
    for name, held in days.items():
        upcoming = [d for d in held if d >= scope.report_date]
        chosen.append(Consultation(name, upcoming[0] if upcoming else held[-1]))
    return tuple(sorted(chosen, key=lambda c: (c.on or date.max, c.body)))
