"""The measure page shows what the answers mean: labels, names, dates, numbers, never codes."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from api.app import create_app
from tests.dashboard_seed import EMAILS, login, seed
from workflow.accounts import Role
from workflow.catalogue.models import Contact
from workflow.clock import FrozenClock
from workflow.cycles.coordination import perform
from workflow.cycles.models import AuditEvent, MeasureCycle, Review, TargetAgreement
from workflow.db import unit_of_work
from workflow.indicators.models import Indicator
from workflow.runtime import Runtime


def _answered(rt: Runtime, clock: FrozenClock) -> tuple[int, str]:
    """A measure with an Erstgespräch, an agreement and a review; returns its id and contact."""
    s = seed(rt)
    item = s.item_ids[0]
    coordinator = f"user:{s.user_ids[Role.COORDINATOR]}"
    with unit_of_work(rt.sessions) as session:
        perform(
            session=session,
            clock=clock,
            measure_cycle_id=item,
            event="record_interview",
            expected_version=1,
            actor=coordinator,
            payload={"decision": "keep", "held_on": "2026-02-10"},
        )
        mc = session.get(MeasureCycle, item)
        assert mc is not None and mc.measure.contact_id is not None
        contact = session.get(Contact, mc.measure.contact_id)
        assert contact is not None
        share = Indicator(
            organisation_id=s.organisation_id,
            code="K7",
            statement="Anteil der Teilnehmenden mit Abschluss",
            unit="percent",
            direction="up",
            created_at=clock.now(),
        )
        count = Indicator(
            organisation_id=s.organisation_id,
            code="K8",
            statement="Zahl der Beratungen",
            unit="count",
            direction="up",
            created_at=clock.now(),
        )
        session.add_all([share, count])
        session.flush()
        session.add(
            TargetAgreement(
                measure_cycle_id=item,
                decision="implement",
                targets="Mehr Abschlüsse",
                milestones=[{"text": "Kurs gestartet", "date": "2027-12-31"}],
                indicator_targets={f"i{share.id}": "29.7", f"i{count.id}": "1E+309"},
                responsible="Frau Demir",
                submitted_at=clock.now(),
                submitted_by=f"contact:{contact.id}",
            )
        )
        session.add(
            Review(
                measure_cycle_id=item,
                achievement="teilweise",
                proposal="continue",
                indicator_values={f"i{share.id}": "31.25", f"i{count.id}": "1200"},
                submitted_at=clock.now(),
                submitted_by=f"contact:{contact.id}",
            )
        )
        return item, contact.name


def _text(page: str) -> str:
    """The page as a person reads it: tags dropped, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_measure_page_shows_labels_names_dates_and_numbers(rt: Runtime, clock: FrozenClock) -> None:
    item, contact_name = _answered(rt, clock)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    page = client.get(f"/massnahmen/{item}")
    assert page.status_code == 200
    shown = _text(page.text)
    answers = _text(page.text.split("<h2>Antworten</h2>")[1].split("<h2>")[0])
    assert "Umsetzung zugesagt" in answers and "implement" not in answers
    assert "31.12.2027 Kurs gestartet" in answers and "{" not in answers
    assert "K7: Anteil der Teilnehmenden mit Abschluss (Prozent): 29,7 %" in answers
    # A value stored before ranges were checked is named, not shown as 1E+309 or "inf".
    assert "K8: Zahl der Beratungen (Anzahl): kein gültiger Wert" in answers
    assert "1E+309" not in shown and "inf" not in answers
    assert "31,3 %" in answers and "1.200" in answers
    assert "Teilweise erreicht" in answers and "Fortführen" in answers
    assert f"von {contact_name}" in answers
    assert "Ergebnis: beibehalten" in shown and "Ergebnis: keep" not in shown
    assert "user:" not in shown and "contact:" not in shown
    assert EMAILS[Role.COORDINATOR] in shown and contact_name in shown

    english = _text(client.get(f"/massnahmen/{item}?lang=en").text)
    assert "Outcome: keep" in english
    assert "Implementation agreed" in english and "Partially achieved" in english
    assert "K7: Anteil der Teilnehmenden mit Abschluss (per cent): 29.7 %" in english
    assert "no valid value" in english and "1,200" in english


def test_actors_without_a_name_here_are_not_shown_as_ids(rt: Runtime, clock: FrozenClock) -> None:
    item, _ = _answered(rt, clock)
    with unit_of_work(rt.sessions) as session:
        mc = session.get(MeasureCycle, item)
        assert mc is not None
        for actor in ("contact:999999", "system:sweep"):
            session.add(
                AuditEvent(
                    organisation_id=mc.organisation_id,
                    measure_cycle_id=item,
                    at=clock.now(),
                    actor=actor,
                    event="extend_deadline",
                    from_state=mc.state,
                    to_state=mc.state,
                    payload={"due_on": "2026-05-29", "reason": "Krankheit"},
                )
            )
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    shown = _text(client.get(f"/massnahmen/{item}").text)
    assert "contact:999999" not in shown and "system:sweep" not in shown
    assert "(unbekannte Person)" in shown and "(automatische Fristenprüfung)" in shown
    assert "neu fällig: 29.05.2026" in shown and "2026-05-29" not in shown
