"""The contact's status-check form behind ``/f/<token>`` and ``record_answers`` beneath it.

Rules of storing (both databases): an answer ticks off or moves the agreement's milestones,
writes indicator values into their series with the answer as source, marks the part answered
and confirms by email; a correction keeps the earlier answer in ``history``; a closed check
refuses; wrong input is refused before anything is written. The page (SQLite): every mistake
at its field with everything typed kept, drafts, the thanks and the closed state, the
hand-over within the administration, and a link that opens only its own part.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from notifications.models import OutboxMessage
from notifications.render import Renderer
from tests.form_support import Browser, build_world
from workflow.catalogue.models import Contact
from workflow.cycles.models import AuditEvent, MeasureCycle
from workflow.db import unit_of_work
from workflow.forms.models import Delegation
from workflow.forms.tokens import FormToken, Phase, issue_token
from workflow.indicators.models import IndicatorValue
from workflow.indicators.service import save_indicator
from workflow.milestones.models import Milestone
from workflow.runtime import Runtime
from workflow.status_checks.answers import (
    AnswersRefused,
    ItemAnswer,
    MilestoneAnswer,
    record_answers,
)
from workflow.status_checks.errors import StatusCheckRefused
from workflow.status_checks.models import Stand, StatusCheckItem, StatusCheckRequest
from workflow.status_checks.selection import Selection
from workflow.status_checks.service import close_status_check, open_status_check

LINK = re.compile(r"https?://[^\s]+/f/([A-Za-z0-9_-]{43})")
TODAY = date(2026, 3, 2)  # the clock fixture's day


@dataclass
class World:
    org_id: int
    cycle_id: int
    check_id: int
    contact_id: int
    request_id: int  # the contact's part: two measures
    other_request_id: int  # the other contact's part
    first: int  # item with two milestones and an indicator
    second: int  # item without either
    theirs: int  # an item of the other part
    reached: int  # milestone ids of ``first``
    moved: int
    foreign_milestone: int  # a milestone of the other contact's measure
    indicator_id: int
    raw: str  # the contact's own link
    other_raw: str


def build(rt: Runtime) -> World:
    base = build_world(rt, measures=4)
    now = rt.clock.now()
    with unit_of_work(rt.sessions) as s:
        mcs = {mc.id: mc for mc in s.scalars(select(MeasureCycle))}
        mine, theirs = mcs[base.mine[0]], mcs[base.theirs[0]]
        milestones = []
        for mc, position, text, due in (
            (mine, 0, "Konzept abgestimmt", date(2026, 2, 27)),
            (mine, 1, "Erster Kurs gestartet", date(2026, 3, 31)),
            (theirs, 0, "Räume gefunden", date(2026, 4, 30)),
        ):
            milestone = Milestone(
                organisation_id=base.org_id, measure_cycle_id=mc.id, measure_id=mc.measure_id,
                position=position, text=text, planned_on=due, due_on=due, history=[],
            )  # fmt: skip
            s.add(milestone)
            milestones.append(milestone)
        indicator, _changed = save_indicator(
            s,
            organisation_id=base.org_id,
            code="B-K1",
            values={
                "statement": "Zahl der Teilnehmenden",
                "unit": "count",
                "direction": "up",
                "due_months": [12],
                "due_day": 15,
                "lead_days": 28,
            },
            goal_ids=[],
            measure_ids=[mine.measure_id],
            now=now - timedelta(days=400),
        )
        check = open_status_check(
            s, clock=rt.clock, organisation_id=base.org_id, selection=Selection(),
            due_on=TODAY + timedelta(days=21), actor="user:1", title="Sachstand Frühjahr",
        )  # fmt: skip
        parts = {
            r.contact_id: r
            for r in s.scalars(
                select(StatusCheckRequest).where(StatusCheckRequest.status_check_id == check.id)
            )
        }
        part, other = parts[base.contact_id], parts[base.other_contact_id]
        items = {
            i.measure_cycle_id: i.id
            for i in s.scalars(select(StatusCheckItem).where(StatusCheckItem.request_id == part.id))
        }
        (theirs_item,) = s.scalars(
            select(StatusCheckItem.id).where(
                StatusCheckItem.request_id == other.id,
                StatusCheckItem.measure_cycle_id == theirs.id,
            )
        )
        raws = [
            issue_token(
                session=s,
                organisation_id=base.org_id,
                contact_id=r.contact_id,
                cycle_id=check.cycle_id,
                phase=Phase.STATUS_CHECK,
                expires_at=now + timedelta(days=60),
                now=now,
                issued_by="test",
                status_check_request_id=r.id,
            )
            for r in (part, other)
        ]
        s.flush()
        return World(
            org_id=base.org_id,
            cycle_id=check.cycle_id,
            check_id=check.id,
            contact_id=base.contact_id,
            request_id=part.id,
            other_request_id=other.id,
            first=items[mine.id],
            second=items[base.mine[1]],
            theirs=theirs_item,
            reached=milestones[0].id,
            moved=milestones[1].id,
            foreign_milestone=milestones[2].id,
            indicator_id=indicator.id,
            raw=raws[0],
            other_raw=raws[1],
        )


def _answer(world: World, rt: Runtime, answers: dict[int, ItemAnswer]) -> None:
    with unit_of_work(rt.sessions) as s:
        record_answers(
            session=s, clock=rt.clock, request_id=world.request_id, answers=answers,
            by=f"contact:{world.contact_id}",
        )  # fmt: skip


def _full(world: World) -> dict[int, ItemAnswer]:
    return {
        world.first: ItemAnswer(
            stand=Stand.DELAYED,
            note="Der Kursstart verschiebt sich:\nDie Räume fehlen noch.",
            milestones=[
                MilestoneAnswer(world.reached, True),
                MilestoneAnswer(world.moved, False, date(2026, 5, 15)),
            ],
            indicator_values={"B-K1": "42"},
        ),
        world.second: ItemAnswer(stand=Stand.ON_TRACK),
    }


# --- record_answers: the rules, on both databases -------------------------------------------


def test_an_answer_is_stored_applied_confirmed_and_corrected_until_the_check_closes(
    rt: Runtime,
) -> None:
    world = build(rt)
    _answer(world, rt, {world.first: _full(world)[world.first]})
    with rt.sessions() as s:
        part = s.get(StatusCheckRequest, world.request_id)
        assert part is not None and part.answered_at is None  # one item still open
    _answer(world, rt, {world.second: _full(world)[world.second]})

    with rt.sessions() as s:
        item = s.get(StatusCheckItem, world.first)
        assert item is not None
        assert (item.stand, item.revision, item.history) == ("delayed", 1, [])
        assert item.milestones == [
            {"milestone_id": world.reached, "reached": True},
            {"milestone_id": world.moved, "reached": False, "new_date": "2026-05-15"},
        ]
        reached, moved = s.get(Milestone, world.reached), s.get(Milestone, world.moved)
        assert reached is not None and moved is not None
        assert (reached.status, reached.reached_on) == ("reached", TODAY)
        assert (moved.status, moved.due_on, moved.planned_on) == (
            "open",
            date(2026, 5, 15),
            date(2026, 3, 31),
        )
        (value,) = s.scalars(select(IndicatorValue)).all()
        assert (value.value, value.survey_date, value.delivered_by) == (
            42.0,
            TODAY,
            f"contact:{world.contact_id}",
        )
        assert value.source == f"Sachstandsabfrage Nr. {world.check_id}: {item.measure.code}"
        assert value.delivered_by_name == "Kontakt 0" and value.measure_cycle_id is None
        part = s.get(StatusCheckRequest, world.request_id)
        assert part is not None and part.answered_at is not None
        assert part.answered_by == f"contact:{world.contact_id}" and part.next_action_at is None
        receipts = sorted(
            s.scalars(
                select(OutboxMessage.dedupe_key).where(
                    OutboxMessage.kind == "status_check_confirmation"
                )
            )
        )
        assert receipts == [
            f"sc:{world.request_id}:confirmation:1",
            f"sc:{world.request_id}:confirmation:2",
        ]
        reported = [
            e.payload
            for e in s.scalars(select(AuditEvent).where(AuditEvent.event == "status_reported"))
        ]
        assert {"status_check_id": world.check_id, "stand": "delayed", "revision": 1} in reported
        events = set(s.scalars(select(AuditEvent.event)))
        assert {"milestone_reached", "milestone_moved"} <= events

    # A correction: the earlier answer goes into history; the settled milestone stays settled.
    corrected = _full(world)[world.first]
    corrected.stand = Stand.AT_RISK
    corrected.indicator_values = {"B-K1": "40"}
    _answer(world, rt, {world.first: corrected})
    with rt.sessions() as s:
        item = s.get(StatusCheckItem, world.first)
        assert item is not None and (item.stand, item.revision) == ("at_risk", 2)
        (before,) = item.history
        assert (before["stand"], before["revision"], before["indicator_values"]) == (
            "delayed",
            1,
            {"B-K1": "42"},
        )
        (value,) = s.scalars(select(IndicatorValue)).all()
        assert (value.value, value.revision) == (40.0, 2)
        assert s.scalar(
            select(OutboxMessage.id).where(
                OutboxMessage.dedupe_key == f"sc:{world.request_id}:confirmation:3"
            )
        )

    with unit_of_work(rt.sessions) as s:
        close_status_check(
            s, clock=rt.clock, organisation_id=world.org_id, status_check_id=world.check_id,
            actor="user:1",
        )  # fmt: skip
    with pytest.raises(StatusCheckRefused) as closed:
        _answer(world, rt, {world.second: ItemAnswer(stand=Stand.DONE)})
    assert closed.value.code == "closed"
    with rt.sessions() as s:
        item = s.get(StatusCheckItem, world.second)
        assert item is not None and (item.stand, item.revision) == ("on_track", 1)


def test_wrong_answers_are_refused_at_their_fields_before_anything_is_written(
    rt: Runtime,
) -> None:
    world = build(rt)
    wrong = {
        world.first: ItemAnswer(
            stand=Stand.ON_TRACK,
            note="x" * 2001,
            milestones=[
                MilestoneAnswer(world.reached, False, TODAY - timedelta(days=1)),
                MilestoneAnswer(world.moved, False, date(2029, 3, 3)),
                MilestoneAnswer(world.foreign_milestone, True),
            ],
            indicator_values={"B-K1": "2,5", "X-9": "1"},
        ),
        world.second: ItemAnswer(stand=Stand.ON_TRACK, note="Tab\tZeichen"),
    }
    with pytest.raises(AnswersRefused) as refused:
        _answer(world, rt, wrong)
    fields = {i: {(e.field, e.key) for e in errs} for i, errs in refused.value.errors.items()}
    assert fields == {
        world.first: {
            (f"ind-{world.indicator_id}", "data.error.count_integer"),
            ("ind-X-9", "status_form.error.indicator_unknown"),
            (f"ms-{world.foreign_milestone}", "status_form.error.milestone_unknown"),
            (f"ms-{world.moved}-date", "status_form.error.new_date_too_far"),
            (f"ms-{world.reached}-date", "status_form.error.new_date_past"),
            ("note", "status_form.error.too_long"),
        },
        world.second: {("note", "status_form.error.control_character")},
    }
    # An item of another contact's part is out of this part's scope.
    with pytest.raises(StatusCheckRefused) as stranger:
        _answer(world, rt, {world.theirs: ItemAnswer(stand=Stand.DONE)})
    assert stranger.value.code == "not_in_scope"
    with rt.sessions() as s:
        assert all(i.answered_at is None for i in s.scalars(select(StatusCheckItem)))
        assert s.scalars(select(IndicatorValue)).all() == []
        assert {m.due_on for m in s.scalars(select(Milestone))} == {
            date(2026, 2, 27),
            date(2026, 3, 31),
            date(2026, 4, 30),
        }
        assert not s.scalars(select(AuditEvent).where(AuditEvent.event == "status_reported")).all()


# --- the page, on SQLite ------------------------------------------------------------------


@pytest.fixture
def page_rt(rt_sqlite: Runtime) -> Runtime:
    return rt_sqlite


@pytest.fixture
def client(page_rt: Runtime) -> Iterator[Browser]:
    with TestClient(create_app()) as test_client:
        yield Browser(test_client)


def _fields(world: World, **overrides: str) -> dict[str, str]:
    first, second = f"s-{world.first}", f"s-{world.second}"
    fields = {
        f"{first}-stand": "delayed",
        f"{first}-ms-{world.reached}": "reached",
        f"{first}-ms-{world.moved}": "later",
        f"{first}-ms-{world.moved}-date": "15.05.2026",
        f"{first}-ind-{world.indicator_id}": "42",
        f"{first}-note": "Die Räume fehlen noch.",
        f"{second}-stand": "on_track",
    }
    fields.update(overrides)
    return fields


def test_the_contact_answers_every_measure_and_is_thanked(
    page_rt: Runtime, client: Browser
) -> None:
    world = build(page_rt)
    page = client.open(world.raw)
    assert page.status_code == 200 and page.headers["referrer-policy"] == "no-referrer"
    for text in ("Sachstandsabfrage", "M0001", "M0003", "Konzept abgestimmt", "B-K1", "23.03.2026"):
        assert text in page.text
    assert "M0002" not in page.text  # the other contact's measure
    sent = client.post(world.raw, {"action": "submit_all", **_fields(world)})
    assert sent.status_code == 303 and sent.headers["location"].split("?")[0].endswith("/danke")
    thanks = client.open(world.raw, "/danke")
    assert "Vielen Dank, Ihre Rückmeldung ist eingegangen" in thanks.text
    assert "noch nicht erreicht, neues Datum: 15.05.2026" in thanks.text
    assert "verzögert" in thanks.text and "Die Räume fehlen noch." in thanks.text
    with page_rt.sessions() as s:
        stands = {i.id: i.stand for i in s.scalars(select(StatusCheckItem))}
        assert (stands[world.first], stands[world.second]) == ("delayed", "on_track")
        moved = s.get(Milestone, world.moved)
        assert moved is not None and moved.due_on == date(2026, 5, 15)
    again = client.open(world.raw, lang="en")
    assert "Answered on 2 March 2026" in again.text
    assert "Send correction" in again.text


def test_one_wrong_field_keeps_everything_typed_and_the_draft(
    page_rt: Runtime, client: Browser
) -> None:
    world = build(page_rt)
    typed = _fields(world, **{f"s-{world.first}-ms-{world.moved}-date": ""})
    refused = client.post(world.raw, {"action": "submit_all", **typed})
    assert refused.status_code == 422
    assert "Bitte prüfen Sie eine Angabe" in refused.text
    assert "Bitte geben Sie an, bis wann der Meilenstein" in refused.text
    assert f'href="#s-{world.first}-ms-{world.moved}-date"' in refused.text
    assert 'value="42"' in refused.text and "Die Räume fehlen noch." in refused.text
    assert re.search(rf'id="s-{world.first}-stand-delayed"[^>]*checked', refused.text)
    assert re.search(rf'id="s-{world.first}-ms-{world.reached}-reached"[^>]*checked', refused.text)
    with page_rt.sessions() as s:
        part = s.get(StatusCheckRequest, world.request_id)
        assert part is not None and part.answered_at is None
        assert part.draft[f"s-{world.first}-ind-{world.indicator_id}"] == "42"
        assert all(i.answered_at is None for i in s.scalars(select(StatusCheckItem)))


def test_a_draft_is_kept_by_button_and_autosave_and_shown_again(
    page_rt: Runtime, client: Browser
) -> None:
    world = build(page_rt)
    autosaved = client.post(
        world.raw,
        {
            f"s-{world.first}-note": "Zwischenstand\u0000",
            f"s-{world.theirs}-note": "fremd",  # another part's item: never kept
        },
        suffix="/draft",
    )
    assert autosaved.status_code == 200 and autosaved.json() == {"saved": 1, "at": "10:00"}
    kept = client.post(world.raw, {"action": "save", f"s-{world.second}-stand": "at_risk"})
    assert kept.status_code == 303 and "notice=saved" in kept.headers["location"]
    with page_rt.sessions() as s:
        part = s.get(StatusCheckRequest, world.request_id)
        assert part is not None
        assert part.draft == {
            f"s-{world.first}-note": "Zwischenstand",
            f"s-{world.second}-stand": "at_risk",
        }
        assert part.draft_updated_by == f"contact:{world.contact_id}"
    shown = client.open(world.raw, notice="saved")
    assert "Ihr Entwurf ist gespeichert" in shown.text and "Zwischenstand" in shown.text
    assert re.search(rf'id="s-{world.second}-stand-at_risk"[^>]*checked', shown.text)
    # Sending the item ends its draft.
    client.post(world.raw, {"action": f"submit:{world.second}", f"s-{world.second}-stand": "done"})
    with page_rt.sessions() as s:
        part = s.get(StatusCheckRequest, world.request_id)
        assert part is not None and part.draft == {f"s-{world.first}-note": "Zwischenstand"}


def test_a_closed_check_shows_the_answers_read_only_and_refuses_changes(
    page_rt: Runtime, client: Browser
) -> None:
    world = build(page_rt)
    _answer(world, page_rt, _full(world))
    client.open(world.raw)  # the CSRF cookie, while the form is still there
    with unit_of_work(page_rt.sessions) as s:
        close_status_check(
            s, clock=page_rt.clock, organisation_id=world.org_id, status_check_id=world.check_id,
            actor="user:1",
        )  # fmt: skip
    page = client.client.get(f"/f/{world.raw}")
    assert page.status_code == 200
    assert "hat diese Sachstandsabfrage am 02.03.2026 abgeschlossen" in page.text
    assert 'id="answers"' not in page.text and "Der Kursstart verschiebt sich" in page.text
    refused = client.post(world.raw, {"action": "submit_all", **_fields(world)})
    assert refused.status_code == 409
    autosave = client.post(world.raw, {f"s-{world.first}-note": "neu"}, suffix="/draft")
    assert autosave.status_code == 409
    with page_rt.sessions() as s:
        item = s.get(StatusCheckItem, world.first)
        assert item is not None and (item.revision, item.stand) == (1, "delayed")


def test_a_link_opens_only_its_own_part(page_rt: Runtime, client: Browser) -> None:
    world = build(page_rt)
    other = client.open(world.other_raw)
    assert other.status_code == 200 and "M0002" in other.text and "M0001" not in other.text
    # The other contact's link posting this part's fields, or naming this part's item.
    client.post(world.other_raw, {"action": "submit_all", **_fields(world)})
    named = client.post(world.other_raw, {"action": f"submit:{world.first}", **_fields(world)})
    assert named.status_code == 303 and "/danke" not in named.headers["location"]
    client.post(world.other_raw, {f"s-{world.first}-note": "fremd"}, suffix="/draft")
    with page_rt.sessions() as s:
        mine = s.get(StatusCheckItem, world.first)
        part = s.get(StatusCheckRequest, world.request_id)
        assert mine is not None and mine.answered_at is None
        assert part is not None and part.draft == {}
    now = page_rt.clock.now()
    with unit_of_work(page_rt.sessions) as s:
        # A status-check token of this contact that names the other contact's part, and a
        # token of another phase: neither shows this part.
        crossed = issue_token(
            session=s, organisation_id=world.org_id, contact_id=world.contact_id,
            cycle_id=world.cycle_id, phase=Phase.STATUS_CHECK,
            expires_at=now + timedelta(days=5), now=now, issued_by="test",
            status_check_request_id=world.other_request_id,
        )  # fmt: skip
        review = issue_token(
            session=s, organisation_id=world.org_id, contact_id=world.contact_id,
            cycle_id=world.cycle_id, phase=Phase.REVIEW,
            expires_at=now + timedelta(days=5), now=now, issued_by="test",
        )  # fmt: skip
    refused = client.client.get(f"/f/{crossed}")
    assert refused.status_code == 404 and "M0002" not in refused.text
    assert client.post(crossed, {"action": "submit_all"}).status_code == 404
    elsewhere = client.client.get(f"/f/{review}")
    assert "Sachstandsabfrage" not in elsewhere.text and "Konzept abgestimmt" not in elsewhere.text
    client.post(review, {"action": "submit_all", **_fields(world)})
    with page_rt.sessions() as s:
        assert all(i.answered_at is None for i in s.scalars(select(StatusCheckItem)))


def test_the_part_is_handed_to_a_colleague_of_the_administration(
    page_rt: Runtime, client: Browser
) -> None:
    world = build(page_rt)
    outside = client.post(
        world.raw, {"email": "helfer@verein.example.net", "name": "Hana Helfer"}, suffix="/delegate"
    )
    assert outside.status_code == 422 and "außerhalb der Verwaltung" in outside.text
    assert 'value="helfer@verein.example.net"' in outside.text
    handed = client.post(
        world.raw, {"email": "Kollegin@stadt.example.org", "name": "Katrin Kollegin"},
        suffix="/delegate",
    )  # fmt: skip
    assert handed.status_code == 303 and "notice=delegated" in handed.headers["location"]
    with unit_of_work(page_rt.sessions) as s:
        (delegation,) = s.scalars(select(Delegation)).all()
        assert (delegation.phase, delegation.status, delegation.owner_contact_id) == (
            "status_check",
            "active",
            world.contact_id,
        )
        colleague = s.scalars(
            select(Contact).where(Contact.email == "kollegin@stadt.example.org")
        ).one()
        rows = list(
            s.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.dedupe_key == f"sc:{world.request_id}:delegation:{delegation.id}"
                )
            )
        )
        assert [r.recipient_email for r in rows] == ["kollegin@stadt.example.org"]
        email = Renderer(s, page_rt.settings, page_rt.clock.now()).render(rows).text
        colleague_id = colleague.id
    found = LINK.search(email)
    assert found is not None and "M0001" in email
    with page_rt.sessions() as s:
        token = s.scalars(select(FormToken).order_by(FormToken.id.desc())).first()
        assert token is not None
        assert (token.contact_id, token.delegated_from_contact_id) == (
            colleague_id,
            world.contact_id,
        )
        assert token.status_check_request_id == world.request_id

    with TestClient(create_app()) as other_client:
        theirs = Browser(other_client)
        opened = theirs.open(found[1])
        assert opened.status_code == 200 and "M0001" in opened.text
        assert "Sie antworten für Kontakt 0." in opened.text
        assert "/delegate" not in opened.text  # a colleague's link hands on nothing
        sent = theirs.post(found[1], {"action": f"submit:{world.second}", **_fields(world)})
        assert sent.status_code == 303
    with page_rt.sessions() as s:
        item = s.get(StatusCheckItem, world.second)
        assert item is not None and item.answered_by == f"contact:{colleague_id}"


def test_every_status_form_text_exists_in_both_languages() -> None:
    root = Path(__file__).resolve().parents[1]
    de = json.loads((root / "api/locales/status_form.de.json").read_text(encoding="utf-8"))
    en = json.loads((root / "api/locales/status_form.en.json").read_text(encoding="utf-8"))
    assert de.keys() == en.keys()
    sources = [
        root / "api/pages/forms/status_check.html",
        *(root / "workflow/status_checks").glob("*.py"),
        *(root / "api/forms").glob("status_check*.py"),
    ]
    used = set()
    for path in sources:
        used |= set(re.findall(r"[\"'](status_form\.[a-z_.]+[a-z_])[\"']", path.read_text()))
    # Keys built from a value: each value's key must exist.
    dynamic = {"status_form.stand.": [s.value for s in Stand]}
    dynamic |= {"status_form.milestone_choice.": ["reached", "later"]}
    dynamic |= {"status_form.notice.": ["saved", "delegated"]}
    dynamic |= {f"status_form.{p}.": ["one", "many"] for p in ("summary.title", "open_count")}
    used = {k for k in used if k + "." not in dynamic}
    used |= {prefix + v for prefix, values in dynamic.items() for v in values}
    assert used - de.keys() == set()
