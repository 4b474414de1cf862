"""Drafts survive closing the tab; an invalid submit keeps everything typed; CSRF on every POST."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from tests.form_support import Browser, World, agreement, build_world, link
from workflow.cycles.models import MeasureCycle
from workflow.forms.models import FormDraft
from workflow.runtime import Runtime


@pytest.fixture
def world(rt: Runtime) -> World:
    return build_world(rt)


@pytest.fixture
def browser(rt: Runtime) -> Iterator[Browser]:
    with TestClient(create_app()) as client:
        yield Browser(client)


def test_saved_draft_is_there_when_the_contact_comes_back(
    rt: Runtime, world: World, browser: Browser
) -> None:
    raw = link(rt, world)
    mc_id = world.mine[0]
    typed = agreement(mc_id, targets="Halb fertig <b>nicht fett</b>", responsible="")
    saved = browser.post(raw, {"action": "save", **typed})
    assert saved.status_code == 303 and saved.headers["location"].endswith("notice=saved")
    with TestClient(create_app()) as later:  # a new browser session, same link
        page = later.get(f"/f/{raw}")
    assert "Halb fertig &lt;b&gt;nicht fett&lt;/b&gt;" in page.text  # kept, and escaped
    assert 'value="implement" checked' in page.text
    assert 'value="Konzept fertig"' in page.text and 'value="2026-06-30"' in page.text
    with rt.sessions() as s:
        mc = s.get(MeasureCycle, mc_id)
        assert mc is not None and mc.state == "target_agreement" and mc.version == 1


def test_autosave_takes_the_csrf_header_and_answers_json(
    rt: Runtime, world: World, browser: Browser
) -> None:
    raw = link(rt, world)
    browser.open(raw)
    mc_id = world.mine[1]
    refused = browser.client.post(f"/f/{raw}/draft", data={f"m-{mc_id}-targets": "x"})
    assert refused.status_code == 403
    response = browser.client.post(
        f"/f/{raw}/draft",
        data={f"m-{mc_id}-targets": "beim Tippen gespeichert", f"m-{mc_id}-evil": "nope"},
        headers={"X-CSRF-Token": browser.csrf},
    )
    assert response.status_code == 200
    assert response.json()["saved"] == 1 and response.json()["at"] == "10:00"
    with rt.sessions() as s:
        draft = s.scalars(select(FormDraft).where(FormDraft.measure_cycle_id == mc_id)).one()
        assert draft.answers == {"targets": "beim Tippen gespeichert"}  # unknown fields dropped
        assert draft.updated_by == f"contact:{world.contact_id}"
    again = browser.client.post(
        f"/f/{raw}/draft",
        data={f"m-{mc_id}-targets": "beim Tippen gespeichert"},
        headers={"X-CSRF-Token": browser.csrf},
    )
    assert again.json()["saved"] == 0  # nothing changed, nothing written
    assert (
        browser.client.post(
            "/f/" + "A" * 43 + "/draft", data={}, headers={"X-CSRF-Token": browser.csrf}
        ).status_code
        == 404
    )


def test_invalid_submit_keeps_everything_typed_and_moves_nothing(
    rt: Runtime, world: World, browser: Browser
) -> None:
    raw = link(rt, world)
    good, bad = world.mine
    typed = {
        **agreement(good),
        f"m-{bad}-decision": "implement",
        f"m-{bad}-targets": "Ziele mit Umlauten: äöüß",
        f"m-{bad}-ms-0-what": "Auftakt",
        f"m-{bad}-ms-0-due": "31.02.2026",
        f"m-{bad}-ms-1-due": "2026-09-01",
    }
    response = browser.post(raw, {"action": "submit_all", **typed})
    assert response.status_code == 422
    html = response.text
    assert 'class="error-summary"' in html and 'role="alert"' in html
    assert f'href="#m-{bad}-responsible"' in html and f'href="#m-{bad}-ms-0-due"' in html
    assert "Bitte nennen Sie die verantwortliche Person." in html
    assert "Bitte geben Sie ein Datum im Format TT.MM.JJJJ an." in html
    assert f'aria-describedby="m-{bad}-responsible-hint m-{bad}-responsible-error"' in html
    assert f'id="m-{bad}-responsible" name="m-{bad}-responsible"' in html
    assert 'aria-invalid="true"' in html
    for value in ("Ziele mit Umlauten: äöüß", "Auftakt", "31.02.2026", "2026-09-01"):
        assert value in html
    assert f"Ziele für Maßnahme {good}" in html  # the valid measure's answers too
    with rt.sessions() as s:
        states = [s.get(MeasureCycle, i).state for i in world.mine]  # type: ignore[union-attr]
        assert states == ["target_agreement", "target_agreement"]  # all or nothing
        drafts = s.scalars(select(FormDraft)).all()
        assert {d.measure_cycle_id for d in drafts} == set(world.mine)
    # Closing the tab now and coming back shows the same typing.
    assert "Ziele mit Umlauten: äöüß" in browser.open(raw).text


def test_every_post_needs_the_csrf_token(rt: Runtime, world: World, browser: Browser) -> None:
    raw = link(rt, world)
    browser.open(raw)
    for suffix, data in (
        ("", {"action": "submit_all", **agreement(world.mine[0])}),
        ("/delegate", {"email": "x@stadt.example.org", "name": "X"}),
        ("/new-link", {}),
    ):
        response = browser.client.post(f"/f/{raw}{suffix}", data=data, follow_redirects=False)
        assert response.status_code == 403
        assert "Die Sitzung ist abgelaufen" in response.text  # a page, not a bare error
        assert response.headers["referrer-policy"] == "no-referrer"
    with rt.sessions() as s:
        assert s.scalars(select(FormDraft)).first() is None
        assert s.get(MeasureCycle, world.mine[0]).state == "target_agreement"  # type: ignore[union-attr]
