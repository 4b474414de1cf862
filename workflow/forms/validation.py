"""The answers of both forms: their choices, and turning what was typed into clean answers. Pure.

Input is always the raw strings a browser sent (``RawAnswers``), so that exactly what was typed
can be shown again on error and kept as a draft. Errors carry a message key of
``api/locales/forms.*.json`` and the field they belong to; this module never renders text.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from workflow.forms.indicators import IndicatorSlot, SlotKind

RawAnswers = dict[str, str]

MAX_TEXT = 10_000
MAX_LINE = 200
MIN_MILESTONE_ROWS = 3
MAX_MILESTONE_ROWS = 12
# Far beyond any count, rate or amount of a city, and well inside what a float holds.
MAX_MAGNITUDE = Decimal("1e12")


class Decision(StrEnum):
    """The department's answer for one measure in the target agreement."""

    IMPLEMENT = "implement"
    DEFER = "deferred"
    # Stored, not moved: the measure stays in target_agreement until the coordinator decides.
    DROP_PROPOSED = "drop_proposed"


class Achievement(StrEnum):
    """Stored as the German words the departments use (``notifications.answers`` labels them)."""

    ACHIEVED = "erreicht"
    PARTIALLY_ACHIEVED = "teilweise"
    NOT_ACHIEVED = "nicht_erreicht"
    NOT_STARTED = "nicht_begonnen"


class Proposal(StrEnum):
    """Review's proposal for the next cycle; ``open_cycle`` copies it into the next draft."""

    CONTINUE = "continue"
    ADAPT = "adapt"
    DROP = "drop"


@dataclass(frozen=True)
class FieldError:
    field: str
    key: str
    values: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class DateWindow:
    """The days a milestone may fall on: the cycle's year and the year after it."""

    earliest: date
    latest: date

    @classmethod
    def for_cycle_year(cls, year: int) -> DateWindow:
        # Implementation runs twelve months from the agreement, so into the following year.
        return cls(date(year, 1, 1), date(year + 1, 12, 31))

    def bounds(self, lang: str = "de") -> dict[str, str]:
        """``earliest`` and ``latest`` as the reader writes a day: 31.12.2027 or 31/12/2027."""
        # The day-first English form of the pages (api/formats.py), which workflow cannot import.
        pattern = "%d/%m/%Y" if lang == "en" else "%d.%m.%Y"
        return {
            "earliest": self.earliest.strftime(pattern),
            "latest": self.latest.strftime(pattern),
        }

    def error(self, name: str, day: date, lang: str = "de") -> FieldError | None:
        """The refusal of a day outside the window, its bounds worded for ``lang``.

        The forms keep German: TT.MM.JJJJ is what both form languages ask the reader to type
        (forms.error.date_invalid), so the bounds show the form they are typed in.
        """
        if self.earliest <= day <= self.latest:
            return None
        return FieldError(name, "forms.error.date_outside_cycle", self.bounds(lang))


@dataclass
class Checked:
    clean: dict[str, Any]
    errors: list[FieldError]

    @property
    def ok(self) -> bool:
        return not self.errors


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_GERMAN = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


def parse_date(text: str) -> date | None:
    """JJJJ-MM-TT (what date inputs send) or TT.MM.JJJJ (what people type); None if neither."""
    text = text.strip()
    try:
        if _ISO.match(text):
            return date.fromisoformat(text)
        m = _GERMAN.match(text)
        if m:
            return date(int(m[3]), int(m[2]), int(m[1]))
    except ValueError:
        return None
    return None


def parse_number(text: str) -> Decimal | None:
    """German (1.234,5) or plain (1234.5) notation; None if it is not a number."""
    text = text.strip().replace(" ", "").replace("\u202f", "")
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def milestone_rows(raw: Mapping[str, str]) -> int:
    """How many milestone rows to show: every filled one plus one empty, at least three."""
    used = [int(m[1]) for k in raw if (m := re.match(r"^ms-(\d{1,4})-(what|due)$", k)) and raw[k]]
    return min(MAX_MILESTONE_ROWS, max(MIN_MILESTONE_ROWS, (max(used) + 2) if used else 0))


def _text(raw: Mapping[str, str], name: str) -> str:
    return (raw.get(name) or "").strip()


def _length(errors: list[FieldError], name: str, value: str, limit: int) -> None:
    if len(value) > limit:
        errors.append(FieldError(name, "forms.error.too_long", {"max": limit}))


def _number_problem(slot: IndicatorSlot, number: Decimal) -> str | None:
    """The message key for a number the slot's unit does not allow, or None."""
    # Imported here: the indicators' rules import this module's parsers.
    from workflow.indicators.validation import number_error

    unit_key = number_error(slot.unit_code, number)
    if unit_key is not None:
        return unit_key.replace("data.error.", "forms.error.")
    return "forms.error.number_too_large" if abs(number) > MAX_MAGNITUDE else None


def _indicators(
    raw: Mapping[str, str], slots: Sequence[IndicatorSlot], errors: list[FieldError]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for slot in slots:
        name = f"ind-{slot.key}"
        text = _text(raw, name)
        if not text:
            continue
        if slot.kind is SlotKind.NUMBER:
            number = parse_number(text)
            if number is None:
                errors.append(FieldError(name, "forms.error.number_invalid"))
                continue
            problem = _number_problem(slot, number)
            if problem is not None:
                errors.append(FieldError(name, problem))
                continue
            values[slot.key] = str(number)
        else:
            _length(errors, name, text, MAX_LINE)
            values[slot.key] = text
    return values


def check_agreement(
    raw: Mapping[str, str],
    slots: Sequence[IndicatorSlot] = (),
    window: DateWindow | None = None,
) -> Checked:
    errors: list[FieldError] = []
    decision = _text(raw, "decision")
    if decision not in {d.value for d in Decision}:
        errors.append(FieldError("decision", "forms.error.decision_required"))
    reason = _text(raw, "reason")
    targets = _text(raw, "targets")
    responsible = _text(raw, "responsible")
    resources = _text(raw, "resources")
    if decision in {Decision.DEFER, Decision.DROP_PROPOSED} and not reason:
        errors.append(FieldError("reason", f"forms.error.reason_required_{decision}"))
    milestones: list[dict[str, str]] = []
    if decision == Decision.IMPLEMENT:
        if not targets:
            errors.append(FieldError("targets", "forms.error.targets_required"))
        if not responsible:
            errors.append(FieldError("responsible", "forms.error.responsible_required"))
        for i in range(MAX_MILESTONE_ROWS):
            what, due_text = _text(raw, f"ms-{i}-what"), _text(raw, f"ms-{i}-due")
            if not what and not due_text:
                continue
            due = parse_date(due_text) if due_text else None
            if not what:
                errors.append(FieldError(f"ms-{i}-what", "forms.error.milestone_what_required"))
            if not due_text:
                errors.append(FieldError(f"ms-{i}-due", "forms.error.milestone_due_required"))
            elif due is None:
                errors.append(FieldError(f"ms-{i}-due", "forms.error.date_invalid"))
            elif window is not None and (outside := window.error(f"ms-{i}-due", due)):
                errors.append(outside)
            _length(errors, f"ms-{i}-what", what, MAX_LINE)
            milestones.append({"text": what, "date": due.isoformat() if due else due_text})
    for name, value, limit in (
        ("reason", reason, MAX_TEXT),
        ("targets", targets, MAX_TEXT),
        ("responsible", responsible, MAX_LINE),
        ("resources", resources, MAX_TEXT),
    ):
        _length(errors, name, value, limit)
    implementing = decision == Decision.IMPLEMENT
    clean = {
        "decision": decision,
        "reason": reason,
        # A deferral or drop proposal keeps no targets: they would be read as a commitment.
        "targets": targets if implementing else "",
        "milestones": milestones,
        "indicator_targets": _indicators(raw, slots, errors) if implementing else {},
        "responsible": responsible if implementing else "",
        "resources": resources if implementing else "",
    }
    return Checked(clean, errors)


def check_review(raw: Mapping[str, str], slots: Sequence[IndicatorSlot] = ()) -> Checked:
    errors: list[FieldError] = []
    achievement = _text(raw, "achievement")
    if achievement not in {a.value for a in Achievement}:
        errors.append(FieldError("achievement", "forms.error.achievement_required"))
    proposal = _text(raw, "proposal")
    if proposal not in {p.value for p in Proposal}:
        errors.append(FieldError("proposal", "forms.error.proposal_required"))
    proposal_text = _text(raw, "proposal_text")
    if proposal in {Proposal.ADAPT, Proposal.DROP} and not proposal_text:
        errors.append(FieldError("proposal_text", f"forms.error.proposal_text_required_{proposal}"))
    comment, obstacles = _text(raw, "comment"), _text(raw, "obstacles")
    for name, value in (
        ("comment", comment),
        ("obstacles", obstacles),
        ("proposal_text", proposal_text),
    ):
        _length(errors, name, value, MAX_TEXT)
    clean = {
        "achievement": achievement,
        "comment": comment,
        "indicator_values": _indicators(raw, slots, errors),
        "obstacles": obstacles,
        "proposal": proposal,
        "proposal_text": proposal_text,
    }
    return Checked(clean, errors)


def agreement_raw(clean: Mapping[str, Any]) -> RawAnswers:
    """A stored agreement as the strings the form shows."""
    raw = {k: str(clean.get(k) or "") for k in ("decision", "reason", "targets")}
    raw |= {k: str(clean.get(k) or "") for k in ("responsible", "resources")}
    for i, ms in enumerate(clean.get("milestones") or []):
        raw[f"ms-{i}-what"] = str(ms.get("text", ""))
        raw[f"ms-{i}-due"] = str(ms.get("date", ""))
    for key, value in (clean.get("indicator_targets") or {}).items():
        raw[f"ind-{key}"] = str(value)
    return raw


def review_raw(clean: Mapping[str, Any]) -> RawAnswers:
    keys = ("achievement", "comment", "obstacles", "proposal", "proposal_text")
    raw = {k: str(clean.get(k) or "") for k in keys}
    for key, value in (clean.get("indicator_values") or {}).items():
        raw[f"ind-{key}"] = str(value)
    return raw


def agreement_prefill(carried: Mapping[str, Any]) -> RawAnswers:
    """Last year's review proposal (``MeasureCycle.draft``) as this year's starting answers."""
    proposal = carried.get("proposal")
    if proposal == Proposal.DROP:
        return {
            "decision": Decision.DROP_PROPOSED.value,
            "reason": carried.get("proposal_text", ""),
        }
    raw: RawAnswers = {}
    if proposal in {Proposal.CONTINUE, Proposal.ADAPT}:
        raw["decision"] = Decision.IMPLEMENT.value
    if carried.get("last_targets"):
        raw["targets"] = str(carried["last_targets"])
    if carried.get("last_responsible"):
        raw["responsible"] = str(carried["last_responsible"])
    return raw


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def without_control_characters(text: str) -> str:
    """Drops invisible control characters (NUL and the like, never tab or line breaks) and the
    noncharacters U+FFFE and U+FFFF: no keyboard types them, PostgreSQL refuses NUL in text,
    and the answers' spreadsheet (XLSX) cannot hold any of them."""
    return _CONTROL.sub("", text)
