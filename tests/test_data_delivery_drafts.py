"""The data-delivery form keeps drafts and may be handed on, like the department forms.

Through the real form routes on both databases: what a source types is kept (autosave and
"Entwurf speichern") and shown again until it is delivered; a draft never reaches another
source's request. The owner's link hands the form to a colleague of the administration, whose
own link (from the real renderer) opens the owner's requests and delivers in the colleague's
name; an address outside is refused in German, and a colleague's link hands on nothing.
A count beyond 10^12 (or 1e309, which a float holds only as infinity) is refused at the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from notifications.models import OutboxMessage
from notifications.render import Renderer
from tests import factories
from tests.form_support import Browser
from workflow.catalogue.models import Contact
from workflow.cycles.models import AuditEvent
from workflow.db import unit_of_work
from workflow.forms.models import Delegation
from workflow.forms.tokens import FormToken, Phase, issue_token
from workflow.indicators import requests as data_requests
from workflow.indicators.models import DataDraft, DataRequest, IndicatorValue
from workflow.indicators.service import save_indicator
from workflow.runtime import Runtime

LINK = re.compile(r"https?://[^\s]+/f/([A-Za-z0-9_-]{43})")


@dataclass
class World:
    org_id: int
    contact_id: int  # the source of ``mine``
    mine: int  # an open request of a count indicator
    theirs: int  # another source's open request
    raw: str  # the source's own link


def build(rt: Runtime, unit: str = "count") -> World:
    now = rt.clock.now()
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s)
        ms = factories.measures(s, org, 2, contacts=2)
        sources = [m.contact_id for m in ms]
        assert sources[0] is not None and sources[1] is not None
        for i, (code, source) in enumerate((("B-K1", sources[0]), ("B-K2", sources[1]))):
            save_indicator(
                s,
                organisation_id=org.id,
                code=code,
                values={
                    "statement": f"Zahl der Sprachkurse {i}",
                    "unit": unit,
                    "direction": "up",
                    "due_months": [3],
                    "due_day": 20,
                    "lead_days": 28,
                    "source_contact_id": source,
                },
                goal_ids=[],
                measure_ids=[],
                now=now - timedelta(days=400),
            )
        mine, theirs = data_requests.open_due_requests(s, now=now).ids
        raw = issue_token(
            session=s,
            organisation_id=org.id,
            contact_id=sources[0],
            cycle_id=None,
            phase=Phase.DATA_DELIVERY,
            expires_at=now + timedelta(days=60),
            now=now,
            issued_by="test",
        )
        return World(org.id, sources[0], mine, theirs, raw)


@pytest.fixture
def browser(rt: Runtime) -> Iterator[Browser]:
    with TestClient(create_app()) as client:
        yield Browser(client)


def _drafts(rt: Runtime) -> dict[int, dict[str, str]]:
    with rt.sessions() as s:
        return {d.data_request_id: d.answers for d in s.scalars(select(DataDraft))}


def test_what_was_typed_is_kept_until_it_is_delivered(rt: Runtime, browser: Browser) -> None:
    world = build(rt)
    page = browser.open(world.raw)
    assert 'data-autosave="' in page.text and "/draft" in page.text
    saved = browser.post(
        world.raw,
        {
            f"r-{world.mine}-value": "12",
            f"r-{world.mine}-comment": "vorläufig",
            f"r-{world.theirs}-value": "99",  # not this link's request: never kept
            f"r-{world.mine}-unknown": "x",  # not a field of the form: never kept
        },
        suffix="/draft",
    )
    assert saved.status_code == 200 and saved.json()["saved"] == 1
    assert _drafts(rt) == {world.mine: {"value": "12", "comment": "vorläufig"}}
    reopened = browser.open(world.raw)
    assert 'value="12"' in reopened.text and "vorläufig" in reopened.text

    # "Entwurf speichern" keeps it as well, and says so.
    kept = browser.post(world.raw, {"action": "save", f"r-{world.mine}-value": "13"})
    assert kept.status_code == 303 and "notice=saved" in kept.headers["location"]
    assert _drafts(rt)[world.mine]["value"] == "13"
    assert "Ihr Entwurf ist gespeichert" in browser.open(world.raw, notice="saved").text

    # Delivering it ends the draft; the stored value is what the form shows from then on.
    done = browser.post(
        world.raw,
        {
            "action": f"submit:{world.mine}",
            f"r-{world.mine}-survey_date": "2026-02-27",
            f"r-{world.mine}-value": "14",
        },
    )
    assert done.status_code == 303, done.text
    assert _drafts(rt) == {}
    assert 'value="14"' in browser.open(world.raw).text


def test_counts_beyond_ten_to_the_twelve_are_refused_at_the_field(
    rt: Runtime, browser: Browser
) -> None:
    world = build(rt)
    for typed in ("1e309", "1e13", "1000000000001"):
        refused = browser.post(
            world.raw,
            {
                "action": f"submit:{world.mine}",
                f"r-{world.mine}-survey_date": "2026-02-27",
                f"r-{world.mine}-value": typed,
            },
        )
        assert refused.status_code == 422, typed
        field_error = re.search(rf'id="r-{world.mine}-value-error">(.*?)</p>', refused.text, re.S)
        assert field_error is not None, typed
        assert "Die Zahl ist zu groß. Bitte prüfen Sie die Angabe." in field_error[1]
        assert f'value="{typed}"' in refused.text
    with rt.sessions() as s:
        assert s.scalars(select(IndicatorValue)).all() == []


def test_an_index_beyond_ten_to_the_twelve_is_refused(rt: Runtime, browser: Browser) -> None:
    world = build(rt, unit="index")
    refused = browser.post(
        world.raw,
        {
            "action": f"submit:{world.mine}",
            f"r-{world.mine}-survey_date": "2026-02-27",
            f"r-{world.mine}-value": "1e309",
        },
    )
    assert refused.status_code == 422
    assert "Die Zahl ist zu groß. Bitte prüfen Sie die Angabe." in refused.text
    with rt.sessions() as s:
        assert s.scalars(select(IndicatorValue)).all() == []


def _render(rt: Runtime, kind: str) -> str:
    with unit_of_work(rt.sessions) as s:
        rows = list(s.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))
        assert len(rows) == 1, kind
        return Renderer(s, rt.settings, rt.clock.now()).render(rows).text


def test_the_owner_hands_the_form_to_a_colleague_who_delivers_in_their_own_name(
    rt: Runtime, browser: Browser
) -> None:
    world = build(rt)
    page = browser.open(world.raw)
    assert 'action="' in page.text and "/delegate" in page.text

    outside = browser.post(
        world.raw,
        {"email": "helfer@verein.example.net", "name": "Hana Helfer"},
        suffix="/delegate",
    )
    assert outside.status_code == 422
    assert "außerhalb der Verwaltung" in outside.text
    assert 'value="helfer@verein.example.net"' in outside.text

    handed = browser.post(
        world.raw,
        {"email": "Kollegin@stadt.example.org", "name": "Katrin Kollegin"},
        suffix="/delegate",
    )
    assert handed.status_code == 303 and "notice=delegated" in handed.headers["location"]
    with rt.sessions() as s:
        (delegation,) = s.scalars(select(Delegation)).all()
        assert (delegation.cycle_id, delegation.phase, delegation.status) == (
            None,
            "data_delivery",
            "active",
        )
        assert delegation.owner_contact_id == world.contact_id
        colleague = s.scalars(
            select(Contact).where(Contact.email == "kollegin@stadt.example.org")
        ).one()
        kinds = sorted(
            s.scalars(select(OutboxMessage.kind).where(OutboxMessage.kind != "data_request"))
        )
        events = list(s.scalars(select(AuditEvent.event)))
    assert kinds == ["data_delegation", "data_delegation_notice"]
    assert events == ["form_delegated"]
    assert "Katrin Kollegin" in _render(rt, "data_delegation_notice")
    invitation = _render(rt, "data_delegation")
    found = LINK.search(invitation)
    assert found is not None and "B-K1" in invitation
    colleague_raw = found[1]
    with rt.sessions() as s:
        token = s.scalars(select(FormToken).order_by(FormToken.id.desc())).first()
        assert token is not None
        assert (token.contact_id, token.delegated_from_contact_id) == (
            colleague.id,
            world.contact_id,
        )

    with TestClient(create_app()) as client:
        theirs = Browser(client)
        opened = theirs.open(colleague_raw)
        assert opened.status_code == 200 and "B-K1" in opened.text and "B-K2" not in opened.text
        assert "/delegate" not in opened.text  # a colleague's link hands on nothing
        again = theirs.post(
            colleague_raw,
            {"email": "dritte@stadt.example.org", "name": "Dora Dritte"},
            suffix="/delegate",
        )
        assert again.status_code == 422
        done = theirs.post(
            colleague_raw,
            {
                "action": f"submit:{world.mine}",
                f"r-{world.mine}-survey_date": "2026-02-27",
                f"r-{world.mine}-value": "15",
            },
        )
        assert done.status_code == 303, done.text
    with rt.sessions() as s:
        value = s.scalars(select(IndicatorValue)).one()
        assert value.delivered_by == f"contact:{colleague.id}"
        assert value.delivered_by_name == "Katrin Kollegin"
        request = s.get(DataRequest, world.mine)
        assert request is not None and request.status == "delivered"
        assert len(s.scalars(select(Delegation)).all()) == 1
