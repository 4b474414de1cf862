"""The latest status of each measure: its newest status-check answer, or a missed milestone.

Owns the one rule every view shows (pipeline, measure page, steering view, meeting pack,
status sheet, Jahresbericht): the newest answered ``StatusCheckItem`` of a measure (ties:
the highest id) gives its stand and date; an open milestone missed by more than the
policy's grace period after that answer's date (or with no answer at all) makes it
"delayed", dated the first day past the grace period. A "done" answer is never overridden.
Reads only, in a few queries for any number of measures; never reads the clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Organisation
from workflow.cycles.models import Cycle
from workflow.deadlines import DeadlinePolicy
from workflow.milestones.models import Milestone, MilestoneStatus
from workflow.status_checks.models import Stand, StatusCheckItem

SOURCE_ANSWER = "answer"
SOURCE_MILESTONE = "milestone"
# Every stand in the order people read them; "" (no statement yet) is counted apart.
STANDS: tuple[str, ...] = tuple(s.value for s in Stand)


@dataclass(frozen=True)
class LatestStatus:
    stand: str  # a ``Stand`` value
    on: date  # the local day of the answer, or the first day the milestone counted as missed
    source: str  # "answer" | "milestone"


def grace_days(session: Session, organisation_id: int) -> int:
    """The grace period of the organisation's newest cycle's policy (the default without one)."""
    raw = session.scalars(
        select(Cycle.policy)
        .where(Cycle.organisation_id == organisation_id)
        .order_by(Cycle.year.desc())
        .limit(1)
    ).first()
    policy = DeadlinePolicy.model_validate(raw) if raw is not None else DeadlinePolicy()
    return policy.milestone_grace_days


def latest_statuses(
    session: Session,
    *,
    organisation_id: int,
    today: date,
    measure_ids: Iterable[int] | None = None,
) -> dict[int, LatestStatus]:
    """measure id -> its latest status; a measure with no answer and no missed milestone is absent."""
    wanted = None if measure_ids is None else sorted(set(measure_ids))
    if wanted == []:
        return {}
    tz = _timezone(session, organisation_id)
    out = {
        measure_id: LatestStatus(item.stand, _local_day(item.answered_at, tz), SOURCE_ANSWER)
        for measure_id, item in newest_answers(
            session, organisation_id=organisation_id, measure_ids=wanted
        ).items()
        if item.answered_at is not None
    }
    grace = timedelta(days=grace_days(session, organisation_id))
    # A report dated in year 1 (the API takes any date) must not underflow: nothing is missed.
    cutoff = max(today, date.min + grace) - grace
    for measure_id, due_on in _missed(session, organisation_id, wanted, cutoff):
        missed_on = due_on + grace + timedelta(days=1)
        known = out.get(measure_id)
        # The earliest miss after the answer: the day since which the measure is delayed.
        if known is None or (
            known.source == SOURCE_ANSWER
            and known.stand != Stand.DONE.value
            and missed_on > known.on
        ):
            out[measure_id] = LatestStatus(Stand.DELAYED.value, missed_on, SOURCE_MILESTONE)
    return out


def newest_answers(
    session: Session, *, organisation_id: int, measure_ids: Iterable[int] | None = None
) -> dict[int, StatusCheckItem]:
    """measure id -> its newest answered item (ties: the highest id), in one query."""
    ranked = select(
        StatusCheckItem.id,
        func.row_number()
        .over(
            partition_by=StatusCheckItem.measure_id,
            order_by=(StatusCheckItem.answered_at.desc(), StatusCheckItem.id.desc()),
        )
        .label("rank"),
    ).where(
        StatusCheckItem.organisation_id == organisation_id,
        StatusCheckItem.answered_at.is_not(None),
        StatusCheckItem.stand != "",
    )
    if measure_ids is not None:
        ranked = ranked.where(StatusCheckItem.measure_id.in_(list(measure_ids)))
    sub = ranked.subquery()
    items = session.scalars(
        select(StatusCheckItem).join(sub, sub.c.id == StatusCheckItem.id).where(sub.c.rank == 1)
    )
    return {item.measure_id: item for item in items}


def _missed(
    session: Session, organisation_id: int, wanted: list[int] | None, due_before: date
) -> list[tuple[int, date]]:
    """(measure id, due date) of open milestones due before ``due_before``, earliest first."""
    query = select(Milestone.measure_id, Milestone.due_on).where(
        Milestone.organisation_id == organisation_id,
        Milestone.status == MilestoneStatus.OPEN.value,
        Milestone.due_on < due_before,
    )
    if wanted is not None:
        query = query.where(Milestone.measure_id.in_(wanted))
    return [(r[0], r[1]) for r in session.execute(query.order_by(Milestone.due_on, Milestone.id))]


def _timezone(session: Session, organisation_id: int) -> ZoneInfo:
    name = session.scalars(
        select(Organisation.timezone).where(Organisation.id == organisation_id)
    ).first()
    return ZoneInfo(name or "Europe/Berlin")


def _local_day(moment: datetime, tz: ZoneInfo) -> date:
    # SQLite hands back naive datetimes; every stored moment is UTC.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(tz).date()


def answers_of(session: Session, *, organisation_id: int, measure_id: int) -> list[StatusCheckItem]:
    """Every answered item of one measure, newest first (what its page lists)."""
    return list(
        session.scalars(
            select(StatusCheckItem)
            .where(
                StatusCheckItem.organisation_id == organisation_id,
                StatusCheckItem.measure_id == measure_id,
                StatusCheckItem.answered_at.is_not(None),
            )
            .order_by(StatusCheckItem.answered_at.desc(), StatusCheckItem.id.desc())
        )
    )
