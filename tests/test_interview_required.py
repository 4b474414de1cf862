"""Recording an Erstgespräch needs a chosen result, the date, and a confirmed notification.

Through the real pages on both databases: nothing is preselected, a bare click records
nothing and sends nothing, each missing field is named at the field with what was typed
kept, and a result that emails the department ("beibehalten", "anpassen") is recorded only
when the coordinator has ticked that the department will be notified.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from notifications.models import OutboxMessage
from tests.dashboard_seed import csrf_headers, login, seed
from workflow.accounts import Role
from workflow.catalogue.models import Measure
from workflow.cycles.models import Interview, MeasureCycle
from workflow.runtime import Runtime

CONFIRM = "notify_confirmed"


def _coordinator() -> TestClient:
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    return client


def _item(rt: Runtime) -> tuple[int, int, int]:
    """A1.2's stay: its id, version and contact."""
    with rt.sessions() as session:
        mc = session.scalars(
            select(MeasureCycle)
            .join(Measure, Measure.id == MeasureCycle.measure_id)
            .where(Measure.code == "A1.2")
        ).one()
        assert mc.measure.contact_id is not None
        return mc.id, mc.version, mc.measure.contact_id


def _nothing_happened(rt: Runtime) -> None:
    with rt.sessions() as session:
        assert session.scalars(select(Interview)).all() == []
        assert session.scalars(select(OutboxMessage)).all() == []


def _measure_post(client: TestClient, item: int, version: int, **fields: str) -> tuple[int, str]:
    response = client.post(
        f"/massnahmen/{item}/aktion",
        data={"action": "record_interview", "version": str(version), **fields},
        headers=csrf_headers(client),
        follow_redirects=False,
    )
    return response.status_code, response.text


def test_the_measure_pages_form_preselects_no_result(rt: Runtime) -> None:
    seed(rt)
    item, _version, _contact = _item(rt)
    text = _coordinator().get(f"/massnahmen/{item}").text
    form = text.split('data-action="record_interview"', 1)[1].split("</form>", 1)[0]
    assert re.search(r'<option value=""[^>]*>', form) is not None
    assert " selected" not in form
    assert f'name="{CONFIRM}"' in form and 'type="checkbox"' in form


def test_a_bare_click_on_the_measure_page_records_and_sends_nothing(rt: Runtime) -> None:
    seed(rt)
    item, version, _contact = _item(rt)
    client = _coordinator()
    status, text = _measure_post(client, item, version, participants="S. Krüger")
    assert status == 422
    assert 'id="err-decision"' in text and "Bitte wählen Sie ein Ergebnis." in text
    assert 'id="err-held_on"' in text
    assert "Bitte geben Sie das Datum des Gesprächs an." in text
    assert 'value="S. Krüger"' in text
    _nothing_happened(rt)


def test_the_measure_page_records_only_after_the_notification_is_confirmed(rt: Runtime) -> None:
    seed(rt)
    item, version, _contact = _item(rt)
    client = _coordinator()
    fields = {"decision": "keep", "held_on": "2026-03-02", "notes": "passt"}
    status, text = _measure_post(client, item, version, **fields)
    assert status == 422 and 'id="err-notify_confirmed"' in text
    assert "Bitte bestätigen Sie die Benachrichtigung per E-Mail." in text
    assert 'value="2026-03-02"' in text and ">passt</textarea>" in text
    _nothing_happened(rt)
    status, _text = _measure_post(client, item, version, **fields, **{CONFIRM: "1"})
    assert status == 303
    with rt.sessions() as session:
        (interview,) = session.scalars(select(Interview)).all()
        assert interview.decision == "keep" and str(interview.held_on) == "2026-03-02"
        assert session.scalars(select(OutboxMessage)).all() != []


def test_the_interview_page_requires_the_date_and_the_confirmation(rt: Runtime) -> None:
    seed(rt)
    item, _version, contact = _item(rt)
    client = _coordinator()
    form = client.get(f"/erstgespraech/{contact}").text
    assert re.search(r'name="held_on" value=""', form) is not None
    found = re.search(rf'name="version_{item}" value="(\d+)"', form)
    assert found is not None
    fields = {f"decision_{item}": "keep", f"version_{item}": found[1], "participants": "S. K."}
    refused = client.post(f"/erstgespraech/{contact}", data=fields, headers=csrf_headers(client))
    assert refused.status_code == 422
    assert 'id="err-held_on"' in refused.text and 'id="err-notify_confirmed"' in refused.text
    assert 'value="S. K."' in refused.text
    assert re.search(r'<option value="keep"\s+selected', refused.text) is not None
    _nothing_happened(rt)
    fields |= {"held_on": "2026-03-02", CONFIRM: "1"}
    saved = client.post(f"/erstgespraech/{contact}", data=fields, headers=csrf_headers(client))
    assert "Das Erstgespräch ist gespeichert." in saved.text
    with rt.sessions() as session:
        assert [i.decision for i in session.scalars(select(Interview))] == ["keep"]


def test_a_drop_sends_no_mail_and_needs_no_confirmation(rt: Runtime) -> None:
    seed(rt)
    item, _version, contact = _item(rt)
    client = _coordinator()
    form = client.get(f"/erstgespraech/{contact}").text
    found = re.search(rf'name="version_{item}" value="(\d+)"', form)
    assert found is not None
    fields = {f"decision_{item}": "drop", f"version_{item}": found[1], "held_on": "2026-03-02"}
    saved = client.post(f"/erstgespraech/{contact}", data=fields, headers=csrf_headers(client))
    assert "Das Erstgespräch ist gespeichert." in saved.text
    with rt.sessions() as session:
        assert [i.decision for i in session.scalars(select(Interview))] == ["drop"]
        assert session.scalars(select(OutboxMessage)).all() == []
