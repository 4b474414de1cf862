"""What the status-check form posts: its field names, the typed strings as answers, drafts.

Fields are named ``s-<item id>-<name>``: ``stand``, ``note``, ``ms-<milestone id>``
("reached" or "later") with ``ms-<milestone id>-date``, and ``ind-<indicator id>``. What was
typed is kept as typed (cut to a sane length) so the page can show it again with its errors
and as a draft in ``StatusCheckRequest.draft``; checking the answers is
``answers.check_item``'s job, storing them ``answers.record_answers``'s. Never commits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from workflow.forms.validation import FieldError, parse_date, without_control_characters
from workflow.status_checks.answers import (
    MAX_NOTE,
    ItemAnswer,
    ItemContext,
    MilestoneAnswer,
    check_item,
)
from workflow.status_checks.models import Stand, StatusCheckRequest

RawAnswers = dict[str, str]
REACHED = "reached"
LATER = "later"
_NAME = re.compile(r"^s-(\d{1,9})-(stand|note|ms-\d{1,9}(?:-date)?|ind-\d{1,9})$")
_CUT = MAX_NOTE + 1  # one more than allowed, so the check can still say "too long"


def split_posted(pairs: Iterable[tuple[str, Any]]) -> dict[int, RawAnswers]:
    """``s-12-stand=…`` pairs into ``{12: {"stand": …}}``, as typed; other names are ignored."""
    out: dict[int, RawAnswers] = {}
    for name, value in pairs:
        m = _NAME.match(name)
        if m and isinstance(value, str):
            out.setdefault(int(m[1]), {})[m[2]] = value[:_CUT]
    return out


def to_answers(
    contexts: Mapping[int, ItemContext],
    posted: Mapping[int, RawAnswers],
    *,
    only: Iterable[int],
    today: date,
) -> tuple[dict[int, ItemAnswer], dict[int, list[FieldError]]]:
    """The posted strings of the items in ``only`` as answers, with every field error."""
    answers: dict[int, ItemAnswer] = {}
    errors: dict[int, list[FieldError]] = {}
    for item_id in only:
        ctx = contexts.get(item_id)
        if ctx is None:
            continue  # not this link's item: the caller refuses it as out of scope
        answer, found = _one(ctx, posted.get(item_id, {}))
        # A field whose text could not be read says so once; the rules speak for the rest.
        named = {e.field for e in found}
        found += [e for e in check_item(ctx, answer, today=today) if e.field not in named]
        answers[item_id] = answer
        if found:
            errors[item_id] = found
    return answers, errors


def _one(ctx: ItemContext, raw: Mapping[str, str]) -> tuple[ItemAnswer, list[FieldError]]:
    errors: list[FieldError] = []
    typed_stand = (raw.get("stand") or "").strip()
    stand = Stand(typed_stand) if typed_stand in {s.value for s in Stand} else None
    if stand is None:
        errors.append(FieldError("stand", "status_form.error.stand_required"))
    milestones = []
    for milestone in ctx.milestones:
        choice = (raw.get(f"ms-{milestone.id}") or "").strip()
        if choice == REACHED:
            milestones.append(MilestoneAnswer(milestone.id, True))
        elif choice == LATER:
            text = (raw.get(f"ms-{milestone.id}-date") or "").strip()
            new_date = parse_date(text) if text else None
            if text and new_date is None:
                errors.append(FieldError(f"ms-{milestone.id}-date", "forms.error.date_invalid"))
            milestones.append(MilestoneAnswer(milestone.id, False, new_date))
    values = {i.code: raw.get(f"ind-{i.id}", "") for i in ctx.indicators}
    answer = ItemAnswer(
        # Without a valid Stand the answer is refused anyway; checking the rest with a
        # stand-in tells the contact every other mistake in the same round.
        stand=stand or Stand.ON_TRACK,
        note=raw.get("note") or "",
        milestones=milestones,
        indicator_values={code: text for code, text in values.items() if text.strip()},
    )
    return answer, errors


def stored_raw(ctx: ItemContext) -> RawAnswers:
    """An item's stored answer as the strings the form shows."""
    item = ctx.item
    if item.answered_at is None:
        return {}
    raw: RawAnswers = {"stand": item.stand, "note": item.note}
    for entry in item.milestones or []:
        ident = entry.get("milestone_id")
        raw[f"ms-{ident}"] = REACHED if entry.get("reached") else LATER
        if entry.get("new_date"):
            raw[f"ms-{ident}-date"] = str(entry["new_date"])
    by_code = {i.code: i.id for i in ctx.indicators}
    for code, value in (item.indicator_values or {}).items():
        if code in by_code:
            raw[f"ind-{by_code[code]}"] = str(value)
    return raw


def draft_raw(request: StatusCheckRequest) -> dict[int, RawAnswers]:
    """The request's draft, split by item like a post."""
    return split_posted((request.draft or {}).items())


def save_draft(
    *,
    request: StatusCheckRequest,
    contexts: Mapping[int, ItemContext],
    posted: Mapping[int, RawAnswers],
    actor: str,
    now: datetime,
) -> int:
    """Keep what was typed for the part's own items (never another's); returns how many items
    changed. A draft never holds control characters: PostgreSQL refuses NUL in JSON text."""
    kept = dict(request.draft or {})
    changed = 0
    for item_id, raw in posted.items():
        if item_id not in contexts:
            continue
        prefix = f"s-{item_id}-"
        before = {k: v for k, v in kept.items() if k.startswith(prefix)}
        after = {prefix + k: without_control_characters(v) for k, v in raw.items()}
        if before == after:
            continue
        for key in before:
            del kept[key]
        kept.update(after)
        changed += 1
    if changed:
        request.draft = kept
        request.draft_updated_at = now
        request.draft_updated_by = actor
    return changed
