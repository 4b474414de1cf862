"""The Erstgespräch's .ics invitation: the start is required, and one interview is one event.

Through the real page on both databases: without a start, or with a date but no time, the
page comes back with a German message at the field and what was typed; a corrected
invitation keeps its UID and carries a higher SEQUENCE, so a calendar updates its entry.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy import select

from api.app import create_app
from tests.dashboard_seed import login, seed
from workflow.accounts import Role
from workflow.catalogue.models import Contact, Measure
from workflow.clock import FrozenClock
from workflow.runtime import Runtime


def _contacts(rt: Runtime) -> list[int]:
    with rt.sessions() as session:
        return list(
            session.scalars(
                select(Contact.id).join(Measure, Measure.contact_id == Contact.id).distinct()
            )
        )


def _coordinator() -> TestClient:
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    return client


@pytest.mark.parametrize("start", ["", "2026-04-01", "morgen"])
def test_an_invitation_without_a_start_time_is_refused_at_the_field(
    rt: Runtime, start: str
) -> None:
    seed(rt)
    contact = _contacts(rt)[0]
    client = _coordinator()
    response = client.get(
        f"/erstgespraech/{contact}/einladung.ics",
        params={"start": start, "minutes": 60, "location": "Raum 3.14"},
    )
    assert response.status_code == 422
    assert not response.headers["content-type"].startswith("text/calendar")
    assert 'id="ics-start-error"' in response.text
    assert "Bitte geben Sie Datum und Uhrzeit des Beginns an." in response.text
    assert 'aria-invalid="true"' in response.text
    assert 'value="Raum 3.14"' in response.text and 'value="60"' in response.text
    english = client.get(f"/erstgespraech/{contact}/einladung.ics", params={"lang": "en"})
    assert english.status_code == 422 and "Please enter the date and time" in english.text


def test_a_corrected_invitation_keeps_its_uid_with_a_higher_sequence(
    rt: Runtime, clock: FrozenClock
) -> None:
    seed(rt)
    first_contact, second_contact = _contacts(rt)[:2]
    client = _coordinator()
    url = f"/erstgespraech/{first_contact}/einladung.ics"
    first = client.get(url, params={"start": "2026-04-01T09:30"})
    assert first.status_code == 200
    clock.advance(timedelta(minutes=5))
    corrected = client.get(url, params={"start": "2026-04-02T11:00"})
    (one,) = Calendar.from_ical(first.content).walk("VEVENT")
    (two,) = Calendar.from_ical(corrected.content).walk("VEVENT")
    assert str(one["uid"]) == str(two["uid"])
    assert int(str(two["sequence"])) > int(str(one["sequence"])) >= 0
    assert two.decoded("dtstart").isoformat() == "2026-04-02T11:00:00+02:00"
    other = client.get(
        f"/erstgespraech/{second_contact}/einladung.ics", params={"start": "2026-04-01T09:30"}
    )
    (three,) = Calendar.from_ical(other.content).walk("VEVENT")
    assert str(three["uid"]) != str(one["uid"])
