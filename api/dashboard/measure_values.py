"""The measure page's answers and timeline in readable words: names for actors, milestones
and indicator values with dates and numbers as the reader writes them.

Builds on ``workflow.reports.answer_values`` (shared with the answers export) and picks the
words in the reader's language; never writes and never decides what the page may show.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from api import formats
from api.i18n import translate
from workflow.cycles.queries import TimelineEntry
from workflow.forms.validation import parse_date
from workflow.reports.answer_values import (
    IndicatorLine,
    actor_names,
    indicator_lines,
    milestone_lines,
)


def iso_day(text: object, lang: str = "de") -> str:
    """A stored ISO date (an audit payload's ``due_on``) as 31.12.2027 (English 31/12/2027);
    anything else as it is."""
    day = parse_date(str(text))
    return formats.day(day, lang) if day else str(text)


def _known(key: str, lang: str) -> str | None:
    text = translate(key, lang)
    return None if text == key else text


def with_actor_names(
    session: Session, *, organisation_id: int, entries: list[TimelineEntry], lang: str
) -> list[TimelineEntry]:
    """Each move's actor as a name; run after ``with_meeting_actors`` (meetings are done)."""
    actors = [str(e.detail.get("actor", "")) for e in entries if e.kind == "audit"]
    names = actor_names(session, organisation_id=organisation_id, actors=actors)
    out = []
    for entry in entries:
        if entry.kind == "audit":
            actor = str(entry.detail.get("actor", ""))
            shown = names.get(actor) or _known(f"actor.{actor}", lang) or _unknown(actor, lang)
            entry = replace(entry, detail={**entry.detail, "actor": shown})
        out.append(entry)
    return out


def _unknown(actor: str, lang: str) -> str:
    # A user or contact since erased, or one of another organisation: never its bare id.
    if actor.startswith(("user:", "contact:")):
        return translate("actor.unknown", lang)
    return actor


def answer_view(
    session: Session, *, organisation_id: int, answers: dict[str, Any], lang: str
) -> dict[str, Any]:
    """What the page shows beside the stored answers: submitters, milestones, indicators."""
    agreement, review = answers.get("agreement"), answers.get("review")
    submitters = [a.submitted_by for a in (agreement, review) if a is not None]
    names = actor_names(session, organisation_id=organisation_id, actors=submitters)
    invalid = translate("answer.value_invalid", lang)

    def indicators(values: dict[str, Any] | None) -> list[IndicatorLine]:
        return indicator_lines(
            session, organisation_id=organisation_id, values=values, lang=lang, invalid=invalid
        )

    return {
        "milestones": milestone_lines(agreement.milestones) if agreement else [],
        "targets": indicators(agreement.indicator_targets) if agreement else [],
        "values": indicators(review.indicator_values) if review else [],
        "agreement_by": names.get(agreement.submitted_by, "") if agreement else "",
        "review_by": names.get(review.submitted_by, "") if review else "",
    }
