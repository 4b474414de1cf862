"""Stores the council paper's written parts for one cycle; checks them, never commits.

Everything is checked before anything is written: a refused value raises ``PaperInvalid``
with one problem per form field (a code and its parameters) and changes nothing. The edge
(page, API) picks the sentence in the reader's language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Field
from workflow.cycles.models import Cycle
from workflow.reports.council_models import CouncilFieldText, CouncilPaper

MAX_TEXT = 5000  # a text block; a council paper is read on two or three pages
MAX_SUBJECT = 300  # the column's width
MAX_LINE = 200  # a body's name or an attachment's title


@dataclass(frozen=True)
class Problem:
    name: str  # the form field, e.g. "subject", "consultation_date_2", "field_17"
    code: str  # too_long | not_a_date | date_without_body | unknown_field
    params: Mapping[str, Any] = field(default_factory=dict)


class PaperInvalid(Exception):
    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(", ".join(f"{p.name}: {p.code}" for p in problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class PaperInput:
    """What was typed, as text; ``consultation`` rows are (body, date as JJJJ-MM-TT)."""

    subject: str = ""
    public: bool = True
    introduction: str = ""
    consultation: tuple[tuple[str, str], ...] = ()
    attachments: tuple[str, ...] = ()
    field_texts: Mapping[int, str] = field(default_factory=dict)


def parse_day(text: str) -> date:
    """A day as people type it: "04.03.2027" or "2027-03-04"; ValueError otherwise."""
    text = text.strip()
    if "." in text:
        day, month, year = (int(part) for part in text.split("."))
        return date(year, month, day)
    return date.fromisoformat(text)


def check(typed: PaperInput, field_ids: set[int]) -> list[Problem]:
    problems: list[Problem] = []

    def longer(name: str, text: str, limit: int) -> None:
        if len(text) > limit:
            problems.append(Problem(name, "too_long", {"limit": limit, "length": len(text)}))

    longer("subject", typed.subject, MAX_SUBJECT)
    longer("introduction", typed.introduction, MAX_TEXT)
    for i, (body, day) in enumerate(typed.consultation):
        longer(f"consultation_body_{i}", body, MAX_LINE)
        if day.strip():
            try:
                parse_day(day)
            except ValueError:
                problems.append(Problem(f"consultation_date_{i}", "not_a_date", {"value": day}))
            else:
                if not body.strip():
                    problems.append(Problem(f"consultation_body_{i}", "date_without_body"))
    for i, title in enumerate(typed.attachments):
        longer(f"attachment_{i}", title, MAX_LINE)
    for field_id, text in typed.field_texts.items():
        if field_id not in field_ids:
            problems.append(Problem(f"field_{field_id}", "unknown_field"))
        longer(f"field_{field_id}", text, MAX_TEXT)
    return problems


def save_paper(
    *,
    session: Session,
    organisation_id: int,
    year: int,
    typed: PaperInput,
    by: str,
    now: datetime,
) -> CouncilPaper:
    """Replace the cycle's stored parts with ``typed``; empty rows are left out."""
    cycle = session.scalars(
        select(Cycle).where(Cycle.organisation_id == organisation_id, Cycle.year == year)
    ).first()
    if cycle is None:
        raise PaperInvalid([Problem("cycle", "unknown_cycle", {"year": year})])
    field_ids = set(session.scalars(select(Field.id).where(Field.organisation_id == organisation_id)))
    problems = check(typed, field_ids)
    if problems:
        raise PaperInvalid(problems)
    paper = session.scalars(select(CouncilPaper).where(CouncilPaper.cycle_id == cycle.id)).first()
    if paper is None:
        paper = CouncilPaper(organisation_id=organisation_id, cycle_id=cycle.id)
        session.add(paper)
    paper.subject = typed.subject.strip()
    paper.public = typed.public
    paper.introduction = typed.introduction.strip()
    paper.consultation = [
        {"body": body.strip(), "date": parse_day(day).isoformat() if day.strip() else ""}
        for body, day in typed.consultation
        if body.strip()
    ]
    paper.attachments = [{"title": t.strip()} for t in typed.attachments if t.strip()]
    paper.updated_at = now
    paper.updated_by = by
    stored = {
        t.field_id: t
        for t in session.scalars(
            select(CouncilFieldText).where(CouncilFieldText.cycle_id == cycle.id)
        )
    }
    for field_id, text in typed.field_texts.items():
        row = stored.get(field_id)
        if row is None:
            row = CouncilFieldText(
                organisation_id=organisation_id, cycle_id=cycle.id, field_id=field_id
            )
            session.add(row)
        row.text = text.strip()
        row.updated_at = now
        row.updated_by = by
    session.flush()
    return paper
