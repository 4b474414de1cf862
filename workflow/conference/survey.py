"""The Integrationskonferenz's survey on the day: its questions, the answers, and what they feed.

One question per active survey indicator (a 5-point scale, labelled per question) and one
free-text question per Handlungsfeld. A device answers once: it is known only by the hash of
a random cookie value, salted with the conference, so its answers to two conferences cannot
be linked. Each submission recomputes, in its own transaction, the value of every scale
question's indicator on the conference's day from all answers, so the indicator always
equals the answers. Never commits; callers own the transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.catalogue.models import Field
from workflow.conference.models import (
    Conference,
    ConferenceQuestion,
    QuestionKind,
    SurveyAnswer,
    SurveyResponse,
)
from workflow.indicators import series
from workflow.indicators.models import Indicator, IndicatorValue, Unit
from workflow.indicators.service import FLAG_REASON
from workflow.indicators.validation import MAX_TEXT, SCALE_POINTS
from workflow.reports import german

IMPORTANCE = (
    "sehr wichtig",
    "wichtig",
    "teils/teils",
    "weniger wichtig",
    "überhaupt nicht wichtig",
)
FREQUENCY = ("eigentlich nie", "selten", "manchmal", "oft", "sehr oft")
GOOD_QUESTION = "Was ist gut gelaufen?"
DELIVERED_BY = "survey"
MAX_LABEL = 100


class SurveyState(StrEnum):
    NOT_OPEN = "not_open"
    OPEN = "open"
    CLOSED = "closed"


class SurveyRefused(Exception):
    """A refusal with a code; each edge words ``survey.refused.<code>`` in its language."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def new_device_token() -> str:
    """A device's cookie value: 256 random bits."""
    return secrets.token_urlsafe(32)


def device_hash(conference_id: int, token: str) -> str:
    return hashlib.sha256(f"{conference_id}:{token}".encode()).hexdigest()


def state_of(conference: Conference, now: datetime) -> SurveyState:
    opens, closes = conference.survey_opens_at, conference.survey_closes_at
    if closes is not None and closes <= now:
        return SurveyState.CLOSED
    if opens is None or opens > now:
        return SurveyState.NOT_OPEN
    return SurveyState.OPEN


def open_survey(session: Session, conference: Conference, now: datetime) -> None:
    if not conference.questions:
        raise SurveyRefused("no_questions")
    if state_of(conference, now) is not SurveyState.OPEN:
        conference.survey_opens_at = now
    conference.survey_closes_at = None
    session.flush()


def close_survey(session: Session, conference: Conference, now: datetime) -> None:
    if state_of(conference, now) is SurveyState.OPEN:
        conference.survey_closes_at = now
        session.flush()


# -- questions ----------------------------------------------------------------------------


def _checked_labels(labels: Sequence[str]) -> list[str]:
    cleaned = [label.strip() for label in labels]
    if len(cleaned) != SCALE_POINTS or any(not c or len(c) > MAX_LABEL for c in cleaned):
        raise SurveyRefused("labels_invalid")
    return cleaned


def survey_indicators(session: Session, organisation_id: int) -> list[Indicator]:
    return list(
        session.scalars(
            select(Indicator)
            .where(
                Indicator.organisation_id == organisation_id,
                Indicator.unit == Unit.SCALE.value,
                Indicator.active.is_(True),
            )
            .order_by(Indicator.code)
        )
    )


def set_up_questions(
    session: Session,
    conference: Conference,
    labels: Mapping[int, Sequence[str]] | None = None,
) -> list[ConferenceQuestion]:
    """The conference's questions anew: a scale question per active survey indicator (labels
    by indicator id from ``labels``, else the importance scale), then "Was ist gut gelaufen?"
    per Handlungsfeld. Refused once anyone has answered: answers belong to their questions."""
    answered = session.scalar(
        select(func.count(SurveyResponse.id)).where(SurveyResponse.conference_id == conference.id)
    )
    if answered:
        raise SurveyRefused("already_answered_by_others")
    chosen = {k: _checked_labels(v) for k, v in (labels or {}).items()}
    questions = [
        ConferenceQuestion(
            kind=QuestionKind.SCALE.value,
            text=indicator.statement,
            indicator_id=indicator.id,
            scale_labels=chosen.get(indicator.id, list(IMPORTANCE)),
        )
        for indicator in survey_indicators(session, conference.organisation_id)
    ]
    fields = session.scalars(
        select(Field)
        .where(Field.organisation_id == conference.organisation_id)
        .order_by(Field.code)
    )
    questions += [
        ConferenceQuestion(
            kind=QuestionKind.TEXT.value, text=GOOD_QUESTION, field_id=f.id, scale_labels=[]
        )
        for f in fields
    ]
    for position, question in enumerate(questions, start=1):
        question.position = position
    conference.questions = questions
    session.flush()
    return questions


# -- answers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Posted:
    """What one device sent: scale points and texts by question id, as typed."""

    points: Mapping[int, str]
    texts: Mapping[int, str]


def _answers(conference: Conference, posted: Posted) -> list[SurveyAnswer]:
    answers: list[SurveyAnswer] = []
    for question in conference.questions:
        if question.kind == QuestionKind.SCALE.value:
            raw = posted.points.get(question.id, "").strip()
            if not raw:
                continue  # "keine Angabe"
            if not raw.isdigit() or not 1 <= int(raw) <= SCALE_POINTS:
                raise SurveyRefused("answer_invalid")
            answers.append(SurveyAnswer(question_id=question.id, scale_value=int(raw)))
        else:
            text = posted.texts.get(question.id, "").strip()
            if len(text) > MAX_TEXT:
                raise SurveyRefused("text_too_long")
            if text:
                answers.append(SurveyAnswer(question_id=question.id, text=text))
    if not answers:
        raise SurveyRefused("empty")
    return answers


def submit(
    session: Session, *, conference_id: int, token: str, posted: Posted, now: datetime
) -> SurveyResponse:
    """One device's answers, then the indicators recomputed. The conference row is locked
    first, so that concurrent submissions recompute one after the other and none is lost."""
    conference = session.get(Conference, conference_id, with_for_update=True)
    if conference is None:
        raise SurveyRefused("unknown")
    state = state_of(conference, now)
    if state is not SurveyState.OPEN:
        raise SurveyRefused(state.value)
    hashed = device_hash(conference.id, token)
    if _response_of(session, conference.id, hashed) is not None:
        raise SurveyRefused("already_answered")
    answers = _answers(conference, posted)
    response = SurveyResponse(conference_id=conference.id, device_hash=hashed, submitted_at=now)
    try:
        with session.begin_nested():
            session.add(response)
            session.flush()
    except IntegrityError:
        raise SurveyRefused("already_answered") from None
    for answer in answers:
        answer.response_id = response.id
    session.add_all(answers)
    session.flush()
    feed_indicators(session, conference, now)
    return response


def _response_of(session: Session, conference_id: int, hashed: str) -> SurveyResponse | None:
    return session.scalars(
        select(SurveyResponse).where(
            SurveyResponse.conference_id == conference_id, SurveyResponse.device_hash == hashed
        )
    ).first()


def has_answered(session: Session, conference: Conference, token: str) -> bool:
    return _response_of(session, conference.id, device_hash(conference.id, token)) is not None


# -- the indicators -----------------------------------------------------------------------


def counts_of(session: Session, question_id: int) -> tuple[int, ...]:
    """Answers per scale point 1..5 of one question."""
    rows = session.execute(
        select(SurveyAnswer.scale_value, func.count(SurveyAnswer.id))
        .where(SurveyAnswer.question_id == question_id, SurveyAnswer.scale_value.is_not(None))
        .group_by(SurveyAnswer.scale_value)
    ).all()
    by_point = {int(point): int(n) for point, n in rows if point is not None}
    return tuple(by_point.get(p, 0) for p in range(1, SCALE_POINTS + 1))


def source_of(conference: Conference) -> str:
    return f"Integrationskonferenz am {german.day(conference.held_on)}"


def feed_indicators(session: Session, conference: Conference, now: datetime) -> None:
    """Each scale question's indicator value on the conference's day (city-wide, the total),
    recomputed from all answers: idempotent, whatever was stored before."""
    for question in conference.questions:
        if question.kind == QuestionKind.SCALE.value and question.indicator_id is not None:
            _feed(session, conference, question.indicator_id, counts_of(session, question.id), now)
    session.flush()


def _total_on(session: Session, indicator_id: int, conference: Conference) -> IndicatorValue | None:
    return session.scalars(
        select(IndicatorValue).where(
            IndicatorValue.indicator_id == indicator_id,
            IndicatorValue.district == "",
            IndicatorValue.cell == "",
            IndicatorValue.survey_date == conference.held_on,
        )
    ).first()


def _earlier_means(session: Session, indicator_id: int, conference: Conference) -> list[float]:
    values = session.scalars(
        select(IndicatorValue.value)
        .where(
            IndicatorValue.indicator_id == indicator_id,
            IndicatorValue.district == "",
            IndicatorValue.cell == "",
            IndicatorValue.survey_date < conference.held_on,
            IndicatorValue.value.is_not(None),
        )
        .order_by(IndicatorValue.survey_date)
    )
    return [float(v) for v in values if v is not None]


def _feed(
    session: Session,
    conference: Conference,
    indicator_id: int,
    counts: tuple[int, ...],
    now: datetime,
) -> None:
    row = _total_on(session, indicator_id, conference)
    mean = series.survey_mean(counts)
    if mean is None:
        # No answers (left): a value of ours goes, anyone else's stays untouched.
        if row is not None and row.delivered_by == DELIVERED_BY:
            session.delete(row)
        return
    flagged = series.outlier(_earlier_means(session, indicator_id, conference), mean)
    if row is None:
        indicator = session.get(Indicator, indicator_id)
        assert indicator is not None  # a question's indicator is a foreign key
        row = IndicatorValue(
            organisation_id=indicator.organisation_id,
            indicator_id=indicator_id,
            survey_date=conference.held_on,
            district="",
            cell="",
            revision=1,
            history=[],
        )
    elif row.delivered_by != DELIVERED_BY:
        # A value typed for that day before the survey: kept in the history, as a correction.
        row.history = [*(row.history or []), _kept(row)]
        row.revision += 1
    if row.counts == list(counts) and row.delivered_by == DELIVERED_BY:
        return
    row.counts = list(counts)
    row.value = mean
    row.report = ""
    row.source = source_of(conference)
    row.delivered_by = DELIVERED_BY
    # What the indicator page names as the deliverer: the conference and its day.
    row.delivered_by_name = row.source
    row.delivered_at = now
    row.flagged = flagged
    row.flag_reason = FLAG_REASON if flagged else ""
    session.add(row)


def _kept(row: IndicatorValue) -> dict[str, object]:
    return {
        "survey_date": row.survey_date.isoformat(),
        "value": row.value,
        "counts": row.counts,
        "report": row.report,
        "comment": row.comment,
        "source": row.source,
        "delivered_by": row.delivered_by,
        "measure_cycle_id": row.measure_cycle_id,
        "delivered_at": row.delivered_at.isoformat(),
        "revision": row.revision,
    }


# -- results ------------------------------------------------------------------------------


@dataclass
class QuestionResult:
    question: ConferenceQuestion
    counts: tuple[int, ...] = ()
    mean: float | None = None
    texts: list[str] = field(default_factory=list)

    @property
    def answered(self) -> int:
        return sum(self.counts) if self.counts else len(self.texts)


@dataclass
class SurveyResults:
    responses: int
    questions: list[QuestionResult]
    field_names: dict[int, str]


def results(session: Session, conference: Conference) -> SurveyResults:
    """Counts and mean per scale question, the free texts per field."""
    responses = session.scalar(
        select(func.count(SurveyResponse.id)).where(SurveyResponse.conference_id == conference.id)
    )
    out: list[QuestionResult] = []
    for question in conference.questions:
        if question.kind == QuestionKind.SCALE.value:
            counts = counts_of(session, question.id)
            out.append(QuestionResult(question, counts, series.survey_mean(counts)))
            continue
        texts = session.scalars(
            select(SurveyAnswer.text)
            .where(SurveyAnswer.question_id == question.id, SurveyAnswer.text != "")
            # Alphabetical, not by time: the n-th text of two fields must not be one person's.
            .order_by(SurveyAnswer.text, SurveyAnswer.id)
        )
        out.append(QuestionResult(question, texts=list(texts)))
    field_ids = {q.field_id for q in conference.questions if q.field_id is not None}
    rows = session.execute(select(Field.id, Field.name).where(Field.id.in_(field_ids)))
    names = {field_id: name for field_id, name in rows}
    return SurveyResults(int(responses or 0), out, names)
