"""Agreement and achievement rates of one cycle, per field, goal rank and department; never writes.

The definitions (also printed in the Jahresbericht's method note):

- asked ("angefragt"): the measure entered the phase Zielvereinbarung in this cycle
  (an audit event into ``target_agreement`` from another state or from the cycle's opening);
- agreed ("vereinbart"): its target agreement was submitted with the decision "umsetzen";
- agreement rate = agreed / asked;
- reviewed ("Review abgegeben"): its 12-month review was submitted;
- achievement rate = reviews "erreicht" / reviewed; "mindestens teilweise" counts
  "erreicht" and "teilweise".
A rate with nothing to divide by is None ("–"), never 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Department, Field, Goal, Measure
from workflow.cycles.models import AuditEvent, Cycle, MeasureCycle, Review, TargetAgreement
from workflow.machine import State
from workflow.reports.german import code_key, ratio

IMPLEMENT = "implement"
ACHIEVED = "erreicht"
PARTLY = "teilweise"


@dataclass(frozen=True)
class Tally:
    measures: int = 0
    asked: int = 0
    agreed: int = 0
    deferred: int = 0
    drop_proposed: int = 0
    review_requested: int = 0
    reviewed: int = 0
    achieved: int = 0
    partly: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(*(a + b for a, b in zip(_values(self), _values(other), strict=True)))

    @property
    def agreement_rate(self) -> float | None:
        return ratio(self.agreed, self.asked)

    @property
    def achievement_rate(self) -> float | None:
        return ratio(self.achieved, self.reviewed)

    @property
    def at_least_partly_rate(self) -> float | None:
        return ratio(self.achieved + self.partly, self.reviewed)


def _values(t: Tally) -> tuple[int, ...]:
    return (
        t.measures,
        t.asked,
        t.agreed,
        t.deferred,
        t.drop_proposed,
        t.review_requested,
        t.reviewed,
        t.achieved,
        t.partly,
    )


@dataclass(frozen=True)
class RateRow:
    key: str
    label: str
    tally: Tally


@dataclass(frozen=True)
class Rates:
    year: int
    total: Tally
    by_field: tuple[RateRow, ...]
    by_rank: tuple[RateRow, ...]
    by_department: tuple[RateRow, ...]


@dataclass(frozen=True)
class Change:
    """One group's rates this year and last year; a difference is None when either is."""

    dimension: str  # "Handlungsfeld", "Zielrang", the organisation's unit word, "Gesamt"
    label: str
    agreement_now: float | None
    agreement_before: float | None
    achievement_now: float | None
    achievement_before: float | None

    @staticmethod
    def _diff(now: float | None, before: float | None) -> float | None:
        return None if now is None or before is None else now - before

    @property
    def agreement_diff(self) -> float | None:
        return self._diff(self.agreement_now, self.agreement_before)

    @property
    def achievement_diff(self) -> float | None:
        return self._diff(self.achievement_now, self.achievement_before)


def _entered_ids(session: Session, cycle_id: int, state: State) -> set[int]:
    return set(
        session.scalars(
            select(AuditEvent.measure_cycle_id)
            .join(MeasureCycle, MeasureCycle.id == AuditEvent.measure_cycle_id)
            .where(
                MeasureCycle.cycle_id == cycle_id,
                AuditEvent.to_state == state.value,
                or_(AuditEvent.from_state.is_(None), AuditEvent.from_state != state.value),
            )
            .distinct()
        )
    )


def _tally_of(
    mc_id: int,
    asked: set[int],
    requested: set[int],
    agreements: dict[int, Any],
    reviews: dict[int, Any],
) -> Tally:
    decision, agreement_submitted = agreements.get(mc_id, (None, None))
    achievement, review_submitted = reviews.get(mc_id, (None, None))
    submitted = agreement_submitted is not None
    reviewed = review_submitted is not None
    return Tally(
        measures=1,
        asked=int(mc_id in asked),
        agreed=int(submitted and decision == IMPLEMENT),
        deferred=int(submitted and decision == "deferred"),
        drop_proposed=int(decision == "drop_proposed"),
        review_requested=int(mc_id in requested),
        reviewed=int(reviewed),
        achieved=int(reviewed and achievement == ACHIEVED),
        partly=int(reviewed and achievement == PARTLY),
    )


def cycle_rates(session: Session, cycle: Cycle) -> Rates:
    rows = session.execute(
        select(MeasureCycle.id, Field.code, Field.name, Goal.rank, Department.name)
        .join(Measure, Measure.id == MeasureCycle.measure_id)
        .join(Goal, Goal.id == Measure.goal_id)
        .join(Field, Field.id == Goal.field_id)
        .join(Department, Department.id == Measure.department_id)
        .where(MeasureCycle.cycle_id == cycle.id)
    ).all()
    ids = [r[0] for r in rows]
    agreements = {
        mc_id: (decision, submitted)
        for mc_id, decision, submitted in session.execute(
            select(
                TargetAgreement.measure_cycle_id,
                TargetAgreement.decision,
                TargetAgreement.submitted_at,
            ).where(TargetAgreement.measure_cycle_id.in_(ids))
        )
    }
    reviews = {
        mc_id: (achievement, submitted)
        for mc_id, achievement, submitted in session.execute(
            select(Review.measure_cycle_id, Review.achievement, Review.submitted_at).where(
                Review.measure_cycle_id.in_(ids)
            )
        )
    }
    asked = _entered_ids(session, cycle.id, State.TARGET_AGREEMENT)
    requested = _entered_ids(session, cycle.id, State.REVIEW)
    tallies = [(row, _tally_of(row[0], asked, requested, agreements, reviews)) for row in rows]

    def grouped(
        key: Callable[[Any], str], label: Callable[[Any], str], order: Callable[[str], Any]
    ) -> tuple[RateRow, ...]:
        groups: dict[str, RateRow] = {}
        for row, tally in tallies:
            k = key(row)
            seen = groups.get(k)
            groups[k] = RateRow(k, label(row), seen.tally + tally if seen else tally)
        return tuple(groups[k] for k in sorted(groups, key=order))

    return Rates(
        year=cycle.year,
        total=sum((t for _, t in tallies), Tally()),
        by_field=grouped(lambda r: r[1], lambda r: f"{r[1]} {r[2]}", code_key),
        by_rank=grouped(lambda r: str(r[3]), lambda r: f"Rang {r[3]}", int),
        by_department=grouped(lambda r: r[4], lambda r: r[4], _name_key),
    )


def _name_key(name: str) -> tuple[str, str]:
    folded = name.casefold()
    for umlaut, base in (("ä", "a"), ("ö", "o"), ("ü", "u"), ("ß", "ss")):
        folded = folded.replace(umlaut, base)
    return folded, name


def compare(now: Rates, before: Rates, *, unit: str = "Fachbereich") -> tuple[Change, ...]:
    """This year's rates against last year's, group by group (union of both years' groups).

    ``unit`` names the departments' group as the organisation does (Amt or Fachbereich).
    """
    out = [
        Change(
            "Gesamt",
            "Alle Maßnahmen",
            now.total.agreement_rate,
            before.total.agreement_rate,
            now.total.achievement_rate,
            before.total.achievement_rate,
        )
    ]
    for dimension, this, last, order in (
        ("Handlungsfeld", now.by_field, before.by_field, code_key),
        ("Zielrang", now.by_rank, before.by_rank, int),
        (unit, now.by_department, before.by_department, _name_key),
    ):
        a = {r.key: r for r in this}
        b = {r.key: r for r in last}
        for key in sorted(set(a) | set(b), key=order):
            row_now, row_before = a.get(key), b.get(key)
            label = row_now.label if row_now else b[key].label
            out.append(
                Change(
                    dimension,
                    label,
                    row_now.tally.agreement_rate if row_now else None,
                    row_before.tally.agreement_rate if row_before else None,
                    row_now.tally.achievement_rate if row_now else None,
                    row_before.tally.achievement_rate if row_before else None,
                )
            )
    return tuple(out)
