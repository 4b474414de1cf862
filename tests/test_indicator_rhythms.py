"""Rhythms as in seed 004: half-yearly, yearly for the previous year, every N years, on an event.

The pure rules (due dates, reference periods, labels, checks), then a yearly indicator due in
February whose request, email and form name the calendar year and the delivery date apart,
every-N-years and event indicators through the sweep, and the import of the rhythm columns.
"""

from __future__ import annotations

import itertools
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from api.app import create_app
from notifications.models import OutboxMessage
from notifications.render import Renderer
from tests import factories
from tests.conftest import BERLIN
from tests.dashboard_seed import bearer, seed
from tests.indicator_csv_support import write_import_file
from workflow.accounts import Role
from workflow.catalogue.models import Contact
from workflow.clock import FrozenClock
from workflow.db import unit_of_work
from workflow.indicators import requests as data_requests
from workflow.indicators.importer import IndicatorsInvalid, import_indicators
from workflow.indicators.models import DataRequest, Indicator, Rhythm
from workflow.indicators.rhythm import (
    RhythmSpec,
    due_dates,
    reference_label,
    reference_period,
)
from workflow.indicators.rhythm_check import rhythm_issues
from workflow.indicators.service import save_indicator
from workflow.runtime import Runtime

LINK = re.compile(r"https?://[^\s]+(/f/[A-Za-z0-9_-]{43})")
SPAN = (date(2020, 1, 1), date(2040, 12, 31))

# -- the pure rules -----------------------------------------------------------------------

specs = st.one_of(
    st.builds(
        RhythmSpec,
        rhythm=st.just("months"),
        due_months=st.lists(st.integers(1, 12), min_size=1, max_size=12, unique=True).map(tuple),
        due_day=st.integers(1, 28),
    ),
    st.builds(
        RhythmSpec,
        rhythm=st.just("half_yearly"),
        due_months=st.tuples(st.integers(1, 6), st.integers(7, 12)),
        due_day=st.integers(1, 28),
    ),
    st.builds(
        RhythmSpec,
        rhythm=st.sampled_from(["yearly", "every_years"]),
        due_months=st.integers(1, 12).map(lambda m: (m,)),
        due_day=st.integers(1, 28),
        every_years=st.integers(2, 20),
        first_year=st.integers(1990, 2100),
    ),
    st.builds(
        RhythmSpec,
        rhythm=st.just("event"),
        event_dates=st.lists(
            st.dates(date(2020, 1, 1), date(2040, 12, 31)), min_size=1, max_size=5
        ).map(lambda days: tuple(sorted({d.isoformat() for d in days}))),
    ),
)


@settings(max_examples=150, deadline=None)
@given(specs)
def test_the_reference_period_never_ends_after_the_due_date(spec: RhythmSpec) -> None:
    dues = due_dates(spec, *SPAN)
    assert dues == sorted(set(dues))
    for due in dues:
        start, end = reference_period(spec, due)
        assert start <= end
        if spec.rhythm == Rhythm.MONTHS:
            # Today's behaviour: the value describes its due month.
            assert (start.year, start.month, end.year, end.month) == (due.year, due.month) * 2
        else:
            assert end <= due


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(2, 20),
    first=st.integers(2000, 2040),
    month=st.integers(1, 12),
    day=st.integers(1, 28),
)
def test_every_years_hits_only_its_years(n: int, first: int, month: int, day: int) -> None:
    spec = RhythmSpec("every_years", (month,), day, every_years=n, first_year=first)
    dues = due_dates(spec, *SPAN)
    expected = [
        y for y in range(SPAN[0].year, SPAN[1].year + 1) if y >= first and (y - first) % n == 0
    ]
    assert [d.year for d in dues] == expected
    assert all((d.month, d.day) == (month, day) for d in dues)
    assert all(
        reference_period(spec, d) == (date(d.year - 1, 1, 1), date(d.year - 1, 12, 31))
        for d in dues
    )


def test_half_years_tile_the_calendar_and_each_rhythm_has_its_label() -> None:
    spec = RhythmSpec("half_yearly", (1, 7), 15)
    periods = [
        reference_period(spec, d) for d in due_dates(spec, date(2026, 1, 1), date(2027, 12, 31))
    ]
    assert periods[0] == (date(2025, 7, 1), date(2025, 12, 31))
    assert periods[1] == (date(2026, 1, 1), date(2026, 6, 30))
    assert all(b[0] - a[1] == timedelta(days=1) for a, b in itertools.pairwise(periods))
    assert reference_label(date(2027, 1, 1), date(2027, 6, 30), "de") == "1. Halbjahr 2027"
    assert reference_label(date(2026, 7, 1), date(2026, 12, 31), "en") == "Second half of 2026"
    assert reference_label(date(2027, 1, 1), date(2027, 12, 31), "de") == "Kalenderjahr 2027"
    assert reference_label(date(2027, 1, 1), date(2027, 12, 31), "en") == "Calendar year 2027"
    assert reference_label(date(2027, 9, 13), date(2027, 9, 13), "de") == "Wahl am 13.09.2027"
    assert (
        reference_label(date(2027, 9, 13), date(2027, 9, 13), "en")
        == "Election on 13 September 2027"
    )
    assert reference_label(date(2026, 3, 1), date(2026, 3, 31), "de") == "März 2026"
    election = RhythmSpec("event", event_dates=("2027-09-13", "2025-09-14"))
    assert due_dates(election, *SPAN) == [date(2025, 9, 14), date(2027, 9, 13)]
    assert reference_period(election, date(2027, 9, 13)) == (date(2027, 9, 13),) * 2


def test_a_broken_rhythm_is_named_by_field_and_code() -> None:
    def codes(spec: RhythmSpec) -> list[tuple[str, str]]:
        return [(p.field, p.code) for p in rhythm_issues(spec)]

    assert codes(RhythmSpec("yearly", (2,), 15)) == []
    assert codes(RhythmSpec("weekly")) == [("rhythm", "indicator.rhythm_unknown")]
    assert codes(RhythmSpec("half_yearly", (2, 3))) == [
        ("due_months", "indicator.half_yearly_months")
    ]
    assert codes(RhythmSpec("yearly", (2, 8))) == [("due_months", "indicator.yearly_one_month")]
    assert codes(RhythmSpec("every_years", (2,), every_years=1)) == [
        ("every_years", "indicator.every_years_range"),
        ("first_year", "indicator.first_year_missing"),
    ]
    assert codes(RhythmSpec("event")) == [("event_dates", "indicator.event_dates_missing")]
    assert codes(RhythmSpec("event", event_dates=("13.09.2027", "2027-09-30", "morgen"))) == [
        ("event_dates", "indicator.event_date_invalid"),
        ("event_dates", "indicator.event_dates_same_month"),
    ]


# -- requests, email and form -------------------------------------------------------------


def _indicator(rt: Runtime, code: str, **values: Any) -> tuple[int, int]:
    """An indicator of a new organisation, created long ago, with a source contact."""
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s, slug=f"stadt-{code.lower()}")
        contact = Contact(
            organisation_id=org.id, name="Frau Quelle", email="quelle@stadt.example.org"
        )
        s.add(contact)
        s.flush()
        indicator, _ = save_indicator(
            s,
            organisation_id=org.id,
            code=code,
            values={
                "statement": "Anteil ausländischer Schülerinnen und Schüler an Gymnasien steigt",
                "unit": "percent",
                "direction": "up",
                "due_day": 15,
                "lead_days": 28,
                "source_contact_id": contact.id,
                **values,
            },
            goal_ids=[],
            measure_ids=[],
            now=datetime(2020, 1, 1, tzinfo=BERLIN),
        )
        return org.id, indicator.id


def _sweep(rt: Runtime) -> list[DataRequest]:
    with unit_of_work(rt.sessions) as s:
        ids = data_requests.open_due_requests(s, now=rt.clock.now()).ids
    with rt.sessions() as s:
        rows = [s.get(DataRequest, i) for i in ids]
        for row in rows:
            s.expunge(row)
        return [r for r in rows if r is not None]


def test_a_yearly_request_names_the_calendar_year_and_the_delivery_date_apart(
    rt: Runtime, clock: FrozenClock
) -> None:
    _, indicator_id = _indicator(rt, "J-1", rhythm="yearly", due_months=[2])
    clock.set(datetime(2028, 1, 24, 9, 0, tzinfo=BERLIN))
    (request,) = _sweep(rt)
    assert _sweep(rt) == []
    assert request.indicator_id == indicator_id and request.period == "2028-02"
    assert (request.due_on, request.reference_start, request.reference_end) == (
        date(2028, 2, 15),
        date(2027, 1, 1),
        date(2027, 12, 31),
    )
    with unit_of_work(rt.sessions) as s:
        (row,) = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "data_request")).all()
        email = Renderer(s, rt.settings, rt.clock.now()).render([row])
    assert "Zeitraum: Kalenderjahr 2027 · Lieferung bis 15.02.2028" in email.text
    assert "Februar 2028" not in email.text
    link = LINK.search(email.text)
    assert link is not None
    form = TestClient(create_app()).get(link[1])
    assert form.status_code == 200
    assert "Kalenderjahr 2027" in form.text and "15.02.2028" in form.text
    assert "Februar 2028" not in form.text
    # The value describes last year: the form proposes its last day, not the delivery date.
    assert 'value="2027-12-31"' in form.text and 'value="2028-02-15"' not in form.text


def test_every_years_and_event_open_only_on_their_dates(rt: Runtime, clock: FrozenClock) -> None:
    _indicator(rt, "Z-1", rhythm="every_years", due_months=[3], every_years=3, first_year=2027)
    _indicator(rt, "W-1", rhythm="event", due_months=[], event_dates=["2026-09-13"], lead_days=7)
    opened: dict[str, tuple[str, date | None, date | None]] = {}
    for day in (date(2026, 3, 1), date(2026, 9, 10), date(2027, 3, 1), date(2028, 3, 1)):
        clock.set(datetime(day.year, day.month, day.day, 9, 0, tzinfo=BERLIN))
        for r in _sweep(rt):
            with rt.sessions() as s:
                indicator = s.get(Indicator, r.indicator_id)
                assert indicator is not None
                opened[f"{indicator.code} {r.period}"] = (
                    r.period,
                    r.reference_start,
                    r.reference_end,
                )
    assert opened == {
        "W-1 2026-09": ("2026-09", date(2026, 9, 13), date(2026, 9, 13)),
        "Z-1 2027-03": ("2027-03", date(2026, 1, 1), date(2026, 12, 31)),
    }


# -- import -------------------------------------------------------------------------------


BASE = {
    "aussage": "Eine Testkennzahl steigt",
    "einheit": "prozent",
    "richtung": "steigend",
    "quelle_email": "quelle@stadt.example.org",
    "quelle_name": "Quelle",
}


def test_the_import_reads_the_rhythm_columns_and_reports_a_wrong_row_by_line(
    rt: Runtime, tmp_path: Path
) -> None:
    with unit_of_work(rt.sessions) as s:
        org_id = factories.organisation(s).id
    rows = [
        {**BASE, "kennzahl_code": "M-1", "erhebung_monate": "3"},
        {**BASE, "kennzahl_code": "H-1", "erhebung_monate": "1/7", "rhythmus": "halbjaehrlich"},
        {**BASE, "kennzahl_code": "J-1", "erhebung_monate": "2", "rhythmus": "jaehrlich"},
        {
            **BASE,
            "kennzahl_code": "Z-1",
            "erhebung_monate": "2",
            "rhythmus": "alle_n_jahre",
            "alle_jahre": "5",
            "erstes_jahr": "2027",
        },
        {
            **BASE,
            "kennzahl_code": "W-1",
            "rhythmus": "ereignis",
            "ereignistermine": "13.09.2027|2025-09-14",
        },
    ]

    def run(path: Path) -> None:
        with unit_of_work(rt.sessions) as s:
            import_indicators(
                session=s,
                organisation_id=org_id,
                path=path,
                now=rt.clock.now(),
                today=date(2026, 3, 2),
            )

    bad = [
        *rows,
        {**BASE, "kennzahl_code": "X-1", "erhebung_monate": "2", "rhythmus": "wöchentlich"},
        {**BASE, "kennzahl_code": "X-2", "rhythmus": "ereignis", "ereignistermine": "31.02.2027"},
    ]
    try:
        run(write_import_file(tmp_path / "bad.csv", bad))
    except IndicatorsInvalid as exc:
        found = [(e.line, e.column, str(e)) for e in exc.errors]
    else:
        raise AssertionError("the import should have failed")
    assert [(line, column) for line, column, _ in found] == [
        (7, "rhythmus"),
        (8, "ereignistermine"),
    ]
    assert "Unbekannter Rhythmus 'wöchentlich'" in found[0][2]
    assert "'31.02.2027' ist kein Datum" in found[1][2]
    with rt.sessions() as s:
        assert s.scalars(select(Indicator)).all() == []

    run(write_import_file(tmp_path / "good.csv", rows))
    with rt.sessions() as s:
        got = {
            i.code: (i.rhythm, i.due_months, i.every_years, i.first_year, i.event_dates)
            for i in s.scalars(select(Indicator))
        }
    assert got == {
        "M-1": ("months", [3], 1, None, []),
        "H-1": ("half_yearly", [1, 7], 1, None, []),
        "J-1": ("yearly", [2], 1, None, []),
        "Z-1": ("every_years", [2], 5, 2027, []),
        "W-1": ("event", [], 1, None, ["2025-09-14", "2027-09-13"]),
    }


# -- JSON API -----------------------------------------------------------------------------


def test_the_api_takes_a_rhythm_and_refuses_a_broken_one(rt: Runtime) -> None:
    s = seed(rt)
    client = TestClient(create_app())
    headers = bearer(s, Role.COORDINATOR)
    definition = {
        "code": "W-1",
        "statement": "Die Wahlbeteiligung in den Stadtbezirken steigt",
        "unit": "percent",
        "direction": "up",
        "rhythm": "event",
        "event_dates": ["2027-09-13", "2025-09-14"],
    }
    created = client.post("/api/v1/indicators", json=definition, headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["rhythm"], body["event_dates"]) == ("event", ["2025-09-14", "2027-09-13"])

    url = f"/api/v1/indicators/{body['id']}"
    changed = client.patch(
        url, json={"rhythm": "every_years", "due_months": [2], "every_years": 5}, headers=headers
    )
    assert changed.status_code == 422
    error = changed.json()["error"]
    assert error["details"]["field"] == "first_year"
    assert error["message"] == "Für einen Rhythmus in Jahresabständen fehlt das erste Jahr."
    fixed = client.patch(
        url,
        json={"rhythm": "every_years", "due_months": [2], "every_years": 5, "first_year": 2027},
        headers=headers,
    )
    assert fixed.status_code == 200, fixed.text
    assert (fixed.json()["rhythm"], fixed.json()["first_year"]) == ("every_years", 2027)
