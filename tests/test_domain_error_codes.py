"""The domain's problems are codes worded in the reader's language; exports use the org's words.

An indicator definition, a deadline policy and a date window name what is wrong by a code of
workflow/locales/errors.*.json (or, for the window, its bounds by language), so an English
reader never gets a German sentence. The decisions register and the annual report's
comparison name a department as the organisation does: "Amt" or "Fachbereich".
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from workflow import messages
from workflow.catalogue.models import Organisation
from workflow.deadlines import DeadlinePolicy
from workflow.decisions import export
from workflow.decisions.queries import DecisionRow
from workflow.forms.validation import DateWindow
from workflow.indicators.importer import COLUMNS, check_row
from workflow.indicators.validation import (
    DefinitionProblem,
    definition_issues,
    definition_problems,
)
from workflow.reports.html import environment
from workflow.reports.rates import RateRow, Rates, Tally, compare
from workflow.terms import terms_for

BAD_DEFINITIONS = (
    {"unit": "furlongs", "direction": "sideways", "target_value": None},
    {"unit": "count", "direction": "target", "target_value": None},
    {"unit": "count", "direction": "up", "target_value": 3.0},
)
EXPECTED_CODES = {
    "indicator.unit_unknown",
    "indicator.direction_unknown",
    "indicator.target_missing",
    "indicator.target_not_allowed",
    "indicator.months_range",
    "indicator.months_repeated",
    "indicator.day_range",
    "indicator.district_names",
}


def _issues() -> list[DefinitionProblem]:
    return [
        problem
        for values in BAD_DEFINITIONS
        for problem in definition_issues(
            **values, due_months=[0, 0], due_day=30, districts=["Nord", " "]
        )
    ]


def _assert_worded(code: str, params: dict[str, object]) -> tuple[str, str]:
    german, english = (messages.message(code, lang, **params) for lang in ("de", "en"))
    for lang in ("de", "en"):
        assert code in messages.catalogue(lang), (code, lang)
    assert german != english
    assert "{" not in german + english and "…" not in german + english
    return german, english


def test_every_definition_problem_is_a_code_worded_in_both_languages() -> None:
    issues = _issues()
    assert {p.code for p in issues} == EXPECTED_CODES
    for problem in issues:
        german, english = _assert_worded(problem.code, problem.params)
        assert problem.text("en") == english and problem.text("de") == german
    unit = next(p for p in issues if p.code == "indicator.unit_unknown")
    assert "'furlongs'" in unit.text("en") and unit.field == "unit"


def test_the_old_pairs_stay_german_and_can_be_had_in_english() -> None:
    pairs = definition_problems(
        unit="count", direction="up", target_value=None, due_months=[], due_day=40, districts=[]
    )
    assert pairs == [("due_day", "Der Tag im Monat liegt zwischen 1 und 28")]
    english = definition_problems(
        unit="count",
        direction="up",
        target_value=None,
        due_months=[],
        due_day=40,
        districts=[],
        lang="en",
    )
    assert english == [("due_day", "The day of the month lies between 1 and 28")]


def test_an_imported_rows_definition_problem_reads_in_english() -> None:
    row = dict.fromkeys(COLUMNS, "")
    row |= {"kennzahl_code": "K1", "aussage": "Quote", "einheit": "anzahl"}
    row |= {"richtung": "steigend", "erhebung_tag": "30"}
    _, errors = check_row(4, row, date(2026, 3, 2))
    (error,) = [e for e in errors if e.column == "erhebung_tag"]
    assert error.text("en") == (
        "Line 4, column erhebung_tag: The day of the month lies between 1 and 28"
    )
    assert error.text("de").endswith(": Der Tag im Monat liegt zwischen 1 und 28")


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("reminder_offsets_days", [-1], "policy.reminder_offset_negative"),
        ("status_check_months", [0], "policy.status_check_month_range"),
    ],
)
def test_a_policys_own_rules_refuse_with_a_code(field: str, value: list[int], code: str) -> None:
    with pytest.raises(ValidationError) as refused:
        DeadlinePolicy.model_validate({field: value})
    (error,) = refused.value.errors()
    assert error["type"] == code
    german, _ = _assert_worded(code, dict(error.get("ctx") or {}))
    assert error["msg"] == german


def test_a_date_window_words_its_bounds_by_language() -> None:
    window = DateWindow.for_cycle_year(2026)
    assert window.bounds("de") == {"earliest": "01.01.2026", "latest": "31.12.2027"}
    assert window.bounds("en") == {"earliest": "01/01/2026", "latest": "31/12/2027"}
    outside = window.error("held_on", date(2030, 1, 1))
    assert outside is not None and outside.values == window.bounds("de")
    english = window.error("held_on", date(2030, 1, 1), "en")
    assert english is not None and english.values["latest"] == "31/12/2027"
    assert window.error("held_on", date(2026, 6, 1), "en") is None


def _row(**changes: object) -> DecisionRow:
    moment = datetime(2026, 3, 2, 9, 0)
    values: dict[str, object] = dict.fromkeys(DecisionRow.__dataclass_fields__, "")
    values |= {"id": 1, "meeting_id": 1, "held_on": date(2026, 3, 2), "body_id": 1}
    values |= {"kind": "recommendation", "addressee": "department", "created_at": moment}
    for name in ("agenda_item_id", "agenda_position", "measure_id", "measure_cycle_id"):
        values[name] = None
    for name in ("department_id", "contact_id", "due_on", "applied_at"):
        values[name] = None
    values |= {"status_changed_at": None, "answered_at": None, "status": "open"}
    return DecisionRow(**(values | changes))  # type: ignore[arg-type]


def _amt() -> Organisation:
    return Organisation(slug="kreis", name="Kreis", kind="district", unit_term="amt")


def test_the_register_names_a_department_and_the_council_as_the_organisation_does() -> None:
    terms = terms_for(_amt(), "de")
    rows = [_row(), _row(id=2, addressee="council")]
    raw = export.to_csv(rows, "Europe/Berlin", terms=terms).decode("utf-8-sig")
    body = list(csv.DictReader(io.StringIO(raw), delimiter=";"))
    assert [r["adressat"] for r in body] == ["Amt", "Kreistag"]
    assert export.addressed_to(_row(department_name="Ordnungsamt"), terms) == "Ordnungsamt"
    # Without the organisation's words the register keeps its general ones.
    assert [export.addressed_to(r) for r in rows] == ["Fachbereich", "Rat oder Kreistag"]


def test_the_annual_comparison_groups_by_the_organisations_unit() -> None:
    tally = Tally(2, 2, 1, 0, 0, 0, 1, 1, 0)
    rates = Rates(2026, tally, (), (), (RateRow("Ordnungsamt", "Ordnungsamt", tally),))
    changes = compare(rates, rates, unit=terms_for(_amt(), "de").unit)
    assert [c.dimension for c in changes] == ["Gesamt", "Amt"]
    assert compare(rates, rates)[1].dimension == "Fachbereich"


def test_the_annual_reports_register_addresses_the_amt() -> None:
    line = environment().from_string("an: {{ register_to(d) }}")
    head = SimpleNamespace(terms=terms_for(_amt(), "de"))
    assert line.render(d=_row(), h=head) == "an: Amt"
    assert line.render(d=_row(), h=SimpleNamespace(terms=terms_for(None, "de"))) == (
        "an: Fachbereich"
    )
