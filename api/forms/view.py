"""Turns a form's scope and items into what the templates show; reads, never writes."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.i18n import LANGUAGES, translate
from workflow.catalogue.models import Contact, Field, Goal
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import TargetAgreement
from workflow.forms.drafts import shown_answers, stored_raw
from workflow.forms.scope import FormItem, FormScope
from workflow.forms.tokens import Phase
from workflow.forms.validation import (
    Achievement,
    Decision,
    FieldError,
    Proposal,
    RawAnswers,
    milestone_rows,
)
from workflow.indicators.mail import format_date

CHOICES: dict[str, list[str]] = {
    "decision": [d.value for d in Decision],
    "achievement": [a.value for a in Achievement],
    "proposal": [p.value for p in Proposal],
}


def language(requested: str | None, contact: Contact | None) -> str:
    """``?lang=`` or the hidden form field wins, then the contact's own language, then German."""
    for lang in (requested, contact.language if contact else None):
        if lang in LANGUAGES:
            return str(lang)
    return "de"


def translator(lang: str) -> Callable[..., str]:
    return lambda key, **values: translate(key, lang, **values)


def field_id(mc_id: int, name: str) -> str:
    """The HTML id of a field; for a radio group, its first option (where a link should land)."""
    if name in CHOICES:
        return f"m-{mc_id}-{name}-{CHOICES[name][0]}"
    return f"m-{mc_id}-{name}"


@dataclass
class ItemView:
    id: int
    code: str
    title: str
    description: str
    state: str
    is_open: bool
    submitted: bool
    submitted_on: str
    flagged: bool
    values: RawAnswers
    errors: dict[str, FieldError]
    milestone_rows: int
    slots: list[Any]
    history: dict[str, Any]
    agreed: dict[str, Any] = field(default_factory=dict)


@dataclass
class GoalView:
    code: str
    name: str
    rank: int
    items: list[ItemView] = field(default_factory=list)


@dataclass
class FieldView:
    code: str
    name: str
    goals: list[GoalView] = field(default_factory=list)


def _agreed(session: Session, items: Sequence[FormItem]) -> dict[int, dict[str, Any]]:
    """For the review: what each measure's department agreed to a year ago."""
    rows = session.scalars(
        select(TargetAgreement).where(
            TargetAgreement.measure_cycle_id.in_([i.mc.id for i in items])
        )
    )
    return {
        ta.measure_cycle_id: {
            "targets": ta.targets,
            "milestones": ta.milestones or [],
            "responsible": ta.responsible,
            "resources": ta.resources,
        }
        for ta in rows
    }


def item_views(
    session: Session,
    scope: FormScope,
    items: Sequence[FormItem],
    *,
    posted: Mapping[int, RawAnswers] | None = None,
    errors: Mapping[int, Sequence[FieldError]] | None = None,
    lang: str = "de",
) -> list[ItemView]:
    cal = calendar_of(scope.organisation)
    agreed = _agreed(session, items) if scope.phase is Phase.REVIEW else {}
    views = []
    for item in items:
        values = (posted or {}).get(item.mc.id) or shown_answers(scope.phase, item)
        if not item.is_open and item.answer is not None and "decision" in values:
            # The decision of a submitted agreement cannot change here: show the stored one.
            values = {**values, "decision": stored_raw(scope.phase, item)["decision"]}
        answer = item.answer
        views.append(
            ItemView(
                id=item.mc.id,
                code=item.mc.measure.code,
                title=item.mc.measure.title,
                description=item.mc.measure.description,
                state=item.mc.state,
                is_open=item.is_open,
                submitted=item.submitted,
                submitted_on=(
                    format_date(cal.local_date(answer.submitted_at), lang)
                    if answer is not None and answer.submitted_at is not None
                    else ""
                ),
                flagged=(
                    item.is_open
                    and isinstance(answer, TargetAgreement)
                    and item.submitted
                    and answer.decision == Decision.DROP_PROPOSED
                ),
                values=values,
                errors={e.field: e for e in (errors or {}).get(item.mc.id, [])},
                milestone_rows=milestone_rows(values),
                slots=item.slots,
                history=dict(item.mc.draft or {}),
                agreed=agreed.get(item.mc.id, {}),
            )
        )
    return views


def grouped(items: Sequence[FormItem], views: Sequence[ItemView]) -> list[FieldView]:
    """Items by Handlungsfeld and goal, in the order ``items_in_scope`` sorted them."""
    fields: dict[int, FieldView] = {}
    goals: dict[int, GoalView] = {}
    for item, view in zip(items, views, strict=True):
        goal: Goal = item.mc.measure.goal
        field_: Field = goal.field
        if field_.id not in fields:
            fields[field_.id] = FieldView(field_.code, field_.name)
        if goal.id not in goals:
            goals[goal.id] = GoalView(goal.code, goal.name, goal.rank)
            fields[field_.id].goals.append(goals[goal.id])
        goals[goal.id].items.append(view)
    return list(fields.values())


def error_summary(views: Sequence[ItemView], _: Callable[..., str]) -> list[dict[str, str]]:
    """One link per error, in page order, each to the field it is about."""
    out = []
    for view in views:
        for name, error in view.errors.items():
            out.append(
                {
                    "href": "#" + field_id(view.id, name),
                    "text": f"{view.code}: {_(error.key, **error.values)}",
                }
            )
    return out


def due_text(scope: FormScope, items: Sequence[FormItem], lang: str = "de") -> str:
    open_due = sorted(i.mc.due_on for i in items if i.is_open and i.mc.due_on)
    return format_date(open_due[0], lang) if open_due else ""
