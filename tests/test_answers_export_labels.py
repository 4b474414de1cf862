"""The answers export says what the answers mean in German: labels, names, dates, numbers."""

from __future__ import annotations

from sqlalchemy import select

from tests.test_measure_page_values import _answered
from workflow.catalogue.models import Measure
from workflow.clock import FrozenClock
from workflow.cycles.models import MeasureCycle
from workflow.reports.answers import answers_table, to_csv
from workflow.runtime import Runtime


def test_export_shows_labels_names_dates_and_numbers(rt: Runtime, clock: FrozenClock) -> None:
    item, contact_name = _answered(rt, clock)
    with rt.sessions() as session:
        mc = session.get(MeasureCycle, item)
        assert mc is not None
        code = session.scalar(select(Measure.code).where(Measure.id == mc.measure_id))
        table = answers_table(session, organisation_id=mc.organisation_id, year=2026)
    row = next(r for r in table.rows if r["massnahme_code"] == code)
    assert row["erstgespraech_ergebnis"] == "beibehalten"
    assert row["zv_entscheidung"] == "Umsetzung zugesagt"
    assert row["zv_meilensteine"] == "31.12.2027: Kurs gestartet"
    assert row["zv_kennzahl_zielwerte"] == (
        "K7: Anteil der Teilnehmenden mit Abschluss (Prozent): 29,7 %; "
        "K8: Zahl der Beratungen (Anzahl): kein gültiger Wert"
    )
    assert row["review_kennzahl_werte"] == (
        "K7: Anteil der Teilnehmenden mit Abschluss (Prozent): 31,3 %; "
        "K8: Zahl der Beratungen (Anzahl): 1.200"
    )
    assert row["zv_abgegeben_von"] == row["review_abgegeben_von"] == contact_name
    assert row["review_zielerreichung"] == "Teilweise erreicht"
    assert row["review_vorschlag"] == "Fortführen"
    # Measures nobody answered yet stay empty, not "–" or a code.
    assert any(r["zv_entscheidung"] == "" and r["erstgespraech_ergebnis"] == "" for r in table.rows)
    text = to_csv(table).decode("utf-8-sig")
    assert "contact:" not in text and "1E+309" not in text and '{"i' not in text
