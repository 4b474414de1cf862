"""Unsubmitted answers, kept exactly as typed so that closing the tab loses nothing; never validates.

Posted fields are named ``m-<measure_cycle_id>-<field>``; only field names the phase's form
knows are kept, each cut to a sane length, and only for measures in the link's scope.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from workflow.forms.models import FormDraft
from workflow.forms.scope import FormItem, FormScope
from workflow.forms.tokens import Phase
from workflow.forms.validation import (
    MAX_MILESTONE_ROWS,
    MAX_TEXT,
    RawAnswers,
    agreement_prefill,
    agreement_raw,
    review_raw,
    without_control_characters,
)

# Bounded digit runs: int() of an endless number is itself an error (Python caps it).
_POSTED = re.compile(r"^m-(\d{1,9})-([a-z0-9_-]+)$")
_FIELDS = {
    Phase.TARGET_AGREEMENT: {"decision", "reason", "targets", "responsible", "resources"},
    Phase.REVIEW: {"achievement", "comment", "obstacles", "proposal", "proposal_text"},
}
_MILESTONE = re.compile(r"^ms-(\d{1,4})-(what|due)$")
_CUT = MAX_TEXT + 1  # one more than allowed, so validation can still say "too long"


def split_posted(pairs: Iterable[tuple[str, Any]]) -> dict[int, RawAnswers]:
    """``m-12-targets=…`` pairs into ``{12: {"targets": …}}``; other names are ignored."""
    out: dict[int, RawAnswers] = {}
    for name, value in pairs:
        m = _POSTED.match(name)
        if m and isinstance(value, str):
            out.setdefault(int(m[1]), {})[m[2]] = without_control_characters(value)
    return out


def _known(phase: Phase, item: FormItem, name: str) -> bool:
    if name in _FIELDS[phase]:
        return True
    if name.startswith("ind-"):
        return name[4:] in {slot.key for slot in item.slots}
    m = _MILESTONE.match(name)
    return phase is Phase.TARGET_AGREEMENT and m is not None and int(m[1]) < MAX_MILESTONE_ROWS


def clean_raw(phase: Phase, item: FormItem, raw: Mapping[str, str]) -> RawAnswers:
    return {k: v[:_CUT] for k, v in raw.items() if _known(phase, item, k)}


def save_drafts(
    *,
    session: Session,
    scope: FormScope,
    items: Iterable[FormItem],
    posted: Mapping[int, RawAnswers],
    now: datetime,
) -> int:
    """Store what was typed for every in-scope measure that was posted; returns how many."""
    rows = []
    for item in items:
        if item.mc.id not in posted:
            continue
        answers = clean_raw(scope.phase, item, posted[item.mc.id])
        if item.draft is not None and item.draft.answers == answers:
            continue
        rows.append(
            {
                "measure_cycle_id": item.mc.id,
                "phase": scope.phase.value,
                "answers": answers,
                "updated_at": now,
                "updated_by": scope.actor,
            }
        )
    if not rows:
        return 0
    # Two tabs may autosave the same measure at once: the later write wins, neither fails.
    dialect = session.get_bind().dialect.name
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(FormDraft)
        stmt = stmt.on_conflict_do_update(
            index_elements=["measure_cycle_id", "phase"],
            set_={c: stmt.excluded[c] for c in ("answers", "updated_at", "updated_by")},
        )
    elif dialect == "sqlite":
        stmt = sqlite.insert(FormDraft)
        stmt = stmt.on_conflict_do_update(
            index_elements=["measure_cycle_id", "phase"],
            set_={c: stmt.excluded[c] for c in ("answers", "updated_at", "updated_by")},
        )
    else:  # pragma: no cover - only the two supported databases
        stmt = insert(FormDraft)
    session.execute(stmt, rows)
    session.expire_all()  # the ORM's copies of the drafts are stale now
    return len(rows)


def discard_draft(session: Session, item: FormItem, phase: Phase) -> None:
    session.execute(
        delete(FormDraft).where(
            FormDraft.measure_cycle_id == item.mc.id, FormDraft.phase == phase.value
        )
    )
    item.draft = None


def shown_answers(phase: Phase, item: FormItem) -> RawAnswers:
    """What the form shows for a measure: the draft, else the stored answer, else last year's."""
    if item.draft is not None:
        return dict(item.draft.answers)
    if item.answer is not None:
        return stored_raw(phase, item)
    if phase is Phase.TARGET_AGREEMENT:
        return agreement_prefill(item.mc.draft or {})
    return {}


def stored_raw(phase: Phase, item: FormItem) -> RawAnswers:
    answer = item.answer
    if answer is None:
        return {}
    if phase is Phase.TARGET_AGREEMENT:
        return agreement_raw({c: getattr(answer, c) for c in _AGREEMENT_COLUMNS})
    return review_raw({c: getattr(answer, c) for c in _REVIEW_COLUMNS})


_AGREEMENT_COLUMNS = (
    "decision",
    "reason",
    "targets",
    "milestones",
    "indicator_targets",
    "responsible",
    "resources",
)
_REVIEW_COLUMNS = (
    "achievement",
    "comment",
    "indicator_values",
    "obstacles",
    "proposal",
    "proposal_text",
)
ANSWER_COLUMNS = {Phase.TARGET_AGREEMENT: _AGREEMENT_COLUMNS, Phase.REVIEW: _REVIEW_COLUMNS}
