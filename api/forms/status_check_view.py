"""What the status-check form shows: the part a token opens, and each item as the page shows it.

Reads, never writes. A token opens exactly the part named by its ``status_check_request_id``,
and only while that part belongs to the token's owner (its holder, or whom it was handed on
from); ``scope_of`` returns None for anything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from workflow.catalogue.models import Contact, Organisation
from workflow.cycles.calendar import calendar_of
from workflow.forms.tokens import FormToken
from workflow.forms.validation import FieldError
from workflow.indicators.mail import format_date, unit_label
from workflow.indicators.models import Unit
from workflow.milestones.models import MilestoneStatus
from workflow.status_checks.answers import ItemContext
from workflow.status_checks.form_input import REACHED, draft_raw, stored_raw
from workflow.status_checks.models import Stand, StatusCheck, StatusCheckRequest

STANDS = [s.value for s in Stand]


@dataclass
class StatusScope:
    token: FormToken
    contact: Contact  # who holds the link and answers
    owner: Contact  # whose part the link opens (differs after a hand-over)
    organisation: Organisation
    request: StatusCheckRequest
    check: StatusCheck

    @property
    def actor(self) -> str:
        return f"contact:{self.contact.id}"

    @property
    def closed(self) -> bool:
        return self.check.closed_at is not None


def scope_of(session: Session, token: FormToken) -> StatusScope | None:
    """The part the token opens, or None when it opens none (never another contact's)."""
    if token.status_check_request_id is None:
        return None
    part = session.get(StatusCheckRequest, token.status_check_request_id)
    owner_id = token.delegated_from_contact_id or token.contact_id
    if part is None or part.organisation_id != token.organisation_id:
        return None
    if part.contact_id != owner_id:
        return None
    contact = session.get(Contact, token.contact_id)
    owner = session.get(Contact, owner_id)
    org = session.get(Organisation, token.organisation_id)
    assert contact and owner and org, "foreign keys guarantee these rows"
    return StatusScope(token, contact, owner, org, part, part.status_check)


@dataclass
class MilestoneView:
    id: int
    text: str
    due_on: str
    planned_on: str
    is_open: bool


@dataclass
class IndicatorView:
    id: int
    code: str
    statement: str
    unit: str
    is_text: bool


@dataclass
class ItemView:
    id: int
    code: str
    title: str
    answered: bool
    answered_on: str
    revision: int
    values: dict[str, str]
    stored: dict[str, str]
    errors: dict[str, FieldError]
    # The new date of each milestone the stored answer moved, as the page shows dates.
    moved_to: dict[int, str] = field(default_factory=dict)
    milestones: list[MilestoneView] = field(default_factory=list)
    indicators: list[IndicatorView] = field(default_factory=list)


def item_views(
    scope: StatusScope,
    contexts: list[ItemContext],
    lang: str,
    *,
    posted: dict[int, dict[str, str]] | None = None,
    errors: dict[int, list[FieldError]] | None = None,
) -> list[ItemView]:
    """What each item shows: what was just posted, else the draft, else the stored answer."""
    cal = calendar_of(scope.organisation)
    drafts = draft_raw(scope.request)
    views = []
    for ctx in contexts:
        item = ctx.item
        stored = stored_raw(ctx)
        typed = (posted or {}).get(item.id)
        views.append(
            ItemView(
                id=item.id,
                code=ctx.measure.code,
                title=ctx.measure.title,
                answered=ctx.answered,
                answered_on=(
                    format_date(cal.local_date(item.answered_at), lang) if item.answered_at else ""
                ),
                revision=item.revision,
                values=typed if typed is not None else drafts.get(item.id) or stored,
                stored=stored,
                errors={e.field: e for e in (errors or {}).get(item.id, [])},
                moved_to={
                    int(e["milestone_id"]): format_date(date.fromisoformat(e["new_date"]), lang)
                    for e in item.milestones or []
                    if e.get("new_date")
                },
                milestones=[
                    MilestoneView(
                        id=m.id,
                        text=m.text,
                        due_on=format_date(m.due_on, lang),
                        planned_on=format_date(m.planned_on, lang),
                        is_open=m.status == MilestoneStatus.OPEN.value,
                    )
                    for m in ctx.milestones
                ],
                indicators=[
                    IndicatorView(
                        id=i.id,
                        code=i.code,
                        statement=i.statement,
                        unit="" if i.unit == Unit.TEXT else unit_label(i.unit, lang),
                        is_text=i.unit == Unit.TEXT,
                    )
                    for i in ctx.indicators
                ],
            )
        )
    return views


def _href(item_id: int, name: str) -> str:
    """Where an error's link lands; a radio group's is its first option."""
    if name == "stand":
        return f"#s-{item_id}-stand-{STANDS[0]}"
    if name.startswith("ms-") and not name.endswith("-date"):
        return f"#s-{item_id}-{name}-{REACHED}"
    return f"#s-{item_id}-{name}"


def summary(views: list[ItemView], _: Any) -> list[dict[str, str]]:
    return [
        {"href": _href(v.id, name), "text": f"{v.code}: {_(e.key, **e.values)}"}
        for v in views
        for name, e in v.errors.items()
    ]
