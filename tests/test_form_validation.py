"""Pure answer checks, and that every message key the forms use exists in German and English."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

from workflow.forms.indicators import IndicatorSlot, SlotKind
from workflow.forms.validation import (
    agreement_prefill,
    agreement_raw,
    check_agreement,
    check_review,
    milestone_rows,
    parse_date,
    parse_number,
)

ROOT = Path(__file__).resolve().parents[1]


def _keys(checked: object) -> set[tuple[str, str]]:
    return {(e.field, e.key) for e in checked.errors}  # type: ignore[attr-defined]


def test_agreement_needs_what_its_decision_needs() -> None:
    assert _keys(check_agreement({})) == {("decision", "forms.error.decision_required")}
    assert _keys(check_agreement({"decision": "implement"})) == {
        ("targets", "forms.error.targets_required"),
        ("responsible", "forms.error.responsible_required"),
    }
    assert _keys(check_agreement({"decision": "deferred", "targets": "x"})) == {
        ("reason", "forms.error.reason_required_deferred")
    }
    dropped = check_agreement({"decision": "drop_proposed", "reason": "r", "targets": "old"})
    assert dropped.ok and dropped.clean["targets"] == ""  # no commitment kept on a drop


def test_milestones_need_text_and_a_real_date() -> None:
    checked = check_agreement(
        {
            "decision": "implement",
            "targets": "t",
            "responsible": "r",
            "ms-0-what": "a",
            "ms-0-due": "1.4.2026",
            "ms-1-what": "b",
            "ms-2-due": "2026-02-30",
        }
    )
    assert _keys(checked) == {
        ("ms-1-due", "forms.error.milestone_due_required"),
        ("ms-2-what", "forms.error.milestone_what_required"),
        ("ms-2-due", "forms.error.date_invalid"),
    }
    assert checked.clean["milestones"][0] == {"text": "a", "date": "2026-04-01"}
    assert agreement_raw(checked.clean)["ms-0-due"] == "2026-04-01"


def test_review_needs_achievement_and_proposal_and_explains_changes() -> None:
    assert _keys(check_review({})) == {
        ("achievement", "forms.error.achievement_required"),
        ("proposal", "forms.error.proposal_required"),
    }
    assert _keys(check_review({"achievement": "teilweise", "proposal": "adapt"})) == {
        ("proposal_text", "forms.error.proposal_text_required_adapt")
    }
    assert check_review({"achievement": "erreicht", "proposal": "continue"}).ok


def test_lengths_and_indicator_slots() -> None:
    long = check_agreement({"decision": "implement", "targets": "t", "responsible": "x" * 201})
    assert ("responsible", "forms.error.too_long") in _keys(long)
    slots = [IndicatorSlot("kitas", "Kitas"), IndicatorSlot("note", "Notiz", kind=SlotKind.TEXT)]
    checked = check_review(
        {
            "achievement": "erreicht",
            "proposal": "continue",
            "ind-kitas": "1.234,5",
            "ind-note": "ok",
        },
        slots,
    )
    assert checked.clean["indicator_values"] == {"kitas": "1234.5", "note": "ok"}
    wrong = check_review(
        {"achievement": "erreicht", "proposal": "continue", "ind-kitas": "viele"}, slots
    )
    assert _keys(wrong) == {("ind-kitas", "forms.error.number_invalid")}


def test_parsers_and_rows() -> None:
    assert parse_date("01.04.2026") == date(2026, 4, 1) and parse_date("2026-13-01") is None
    assert parse_number("3,5") == Decimal("3.5") and parse_number("NaN") is None
    assert milestone_rows({}) == 3 and milestone_rows({"ms-5-what": "x"}) == 7


def test_last_years_proposal_prefills_the_agreement() -> None:
    assert agreement_prefill({"proposal": "drop", "proposal_text": "weg"}) == {
        "decision": "drop_proposed",
        "reason": "weg",
    }
    assert agreement_prefill(
        {"proposal": "adapt", "last_targets": "20", "last_responsible": "A"}
    ) == {
        "decision": "implement",
        "targets": "20",
        "responsible": "A",
    }


def test_every_message_key_of_the_forms_exists_in_both_languages() -> None:
    de = json.loads((ROOT / "api/locales/forms.de.json").read_text(encoding="utf-8"))
    en = json.loads((ROOT / "api/locales/forms.en.json").read_text(encoding="utf-8"))
    assert de.keys() == en.keys()
    sources = [*(ROOT / "api/pages/forms").glob("*.html"), *(ROOT / "workflow/forms").glob("*.py")]
    sources += list((ROOT / "api/forms").glob("*.py"))
    used = set()
    for path in sources:
        used |= set(
            re.findall(r"[\"'](forms\.[a-z_.]+[a-z_])[\"']", path.read_text(encoding="utf-8"))
        )
    dynamic = {
        "forms.decision.", "forms.achievement.", "forms.proposal.", "forms.label.",
        "forms.notice.", "forms.error.reason_required_", "forms.error.proposal_text_required_",
    }  # fmt: skip
    problems = {f"forms.{p}" for p in ("csrf", "failure", "blocked", "unknown", "rejected")}
    plurals = {k.rsplit(".", 1)[0] for k in de if k.endswith((".one", ".other"))}  # via _n
    missing = {
        k
        for k in used - problems - plurals
        if k not in de and not any(k == d.rstrip(".") for d in dynamic)
    }
    assert missing == set()
    for prefix, values in (
        ("forms.decision.", ["implement", "deferred", "drop_proposed"]),
        ("forms.achievement.", ["erreicht", "teilweise", "nicht_erreicht", "nicht_begonnen"]),
        ("forms.proposal.", ["continue", "adapt", "drop"]),
        ("forms.error.reason_required_", ["deferred", "drop_proposed"]),
        ("forms.error.proposal_text_required_", ["adapt", "drop"]),
    ):
        assert all(prefix + v in de for v in values), prefix
    for problem in ("csrf", "failure", "blocked", "unknown"):
        assert all(f"forms.{problem}.{part}" in de for part in ("title", "text", "help"))
