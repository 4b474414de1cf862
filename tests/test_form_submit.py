"""Submitting the forms: every measure moves once through the state machine, with its audit trail;
corrections and second tabs change answers but never move anything twice."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from notifications.models import OutboxMessage
from tests.conftest import BERLIN
from tests.form_support import Browser, World, agreement, build_world, link, to_review
from workflow.catalogue.models import Contact
from workflow.cycles.models import AuditEvent, MeasureCycle, Review, TargetAgreement
from workflow.cycles.service import open_cycle
from workflow.db import unit_of_work
from workflow.forms.scope import items_in_scope, scope_of
from workflow.forms.submit import submit
from workflow.forms.tokens import FormToken, Phase, hash_token
from workflow.runtime import Runtime
from workflow.transitions import apply_event


@pytest.fixture
def world(rt: Runtime) -> World:
    return build_world(rt, measures=6)  # three measures for each contact


@pytest.fixture
def browser(rt: Runtime) -> Iterator[Browser]:
    with TestClient(create_app()) as client:
        yield Browser(client)


def _states(rt: Runtime, ids: list[int]) -> list[str]:
    with rt.sessions() as s:
        return [s.get(MeasureCycle, i).state for i in ids]  # type: ignore[union-attr]


def _audit(rt: Runtime, mc_id: int) -> list[AuditEvent]:
    with rt.sessions() as s:
        return list(
            s.scalars(
                select(AuditEvent)
                .where(AuditEvent.measure_cycle_id == mc_id, AuditEvent.event != "open_cycle")
                .order_by(AuditEvent.id)
            )
        )


def _kinds(rt: Runtime, mc_id: int) -> list[str]:
    with rt.sessions() as s:
        return sorted(
            s.scalars(select(OutboxMessage.kind).where(OutboxMessage.measure_cycle_id == mc_id))
        )


def test_submit_all_moves_each_measure_by_its_decision_and_audits_who(
    rt: Runtime, world: World, browser: Browser
) -> None:
    implement, defer, drop = world.mine
    raw = link(rt, world)
    response = browser.post(
        raw,
        {
            "action": "submit_all",
            **agreement(implement),
            **agreement(defer, decision="deferred", reason="Personal fehlt 2026"),
            **agreement(drop, decision="drop_proposed", reason="Angebot gibt es nicht mehr"),
        },
    )
    assert response.status_code == 303
    assert response.headers["location"].endswith("/danke?lang=de")
    assert _states(rt, world.mine) == ["implementation", "deferred", "target_agreement"]
    actor = f"contact:{world.contact_id}"
    assert [(e.event, e.actor, e.to_state) for e in _audit(rt, implement)] == [
        ("submit_agreement", actor, "implementation")
    ]
    assert _audit(rt, defer)[0].payload["reason"] == "Personal fehlt 2026"
    assert [(e.event, e.from_state, e.to_state) for e in _audit(rt, drop)] == [
        ("drop_proposed", "target_agreement", "target_agreement")
    ]
    with rt.sessions() as s:
        rows = {
            ta.measure_cycle_id: ta
            for ta in s.scalars(
                select(TargetAgreement).where(TargetAgreement.measure_cycle_id.in_(world.mine))
            )
        }
        assert rows[implement].targets == f"Ziele für Maßnahme {implement}"
        assert rows[implement].milestones == [{"text": "Konzept fertig", "date": "2026-06-30"}]
        assert rows[implement].responsible == "Frau Beispiel"
        assert rows[implement].submitted_by == actor and rows[implement].accepted_at is None
        assert rows[defer].decision == "deferred" and rows[defer].targets == ""
        assert rows[drop].decision == "drop_proposed"
        assert rows[drop].reason == "Angebot gibt es nicht mehr"
    # Every answer is confirmed with a copy: by the move itself, or by the form (defer, drop).
    for mc_id in world.mine:
        assert "confirmation_agreement" in _kinds(rt, mc_id)
    # The other contact's measures were not touched.
    assert _states(rt, world.theirs) == ["target_agreement"] * 3
    # The flagged measure is still on the form, waiting for the coordinator's "drop".
    page = browser.open(raw)
    assert "Streichung vorgeschlagen am 02.03.2026" in page.text


def test_one_measure_at_a_time_leaves_the_others_open(
    rt: Runtime, world: World, browser: Browser
) -> None:
    first, second, _third = world.mine
    raw = link(rt, world)
    response = browser.post(
        raw, {"action": f"submit:{first}", **agreement(first), f"m-{second}-targets": "halb"}
    )
    assert response.status_code == 303
    assert _states(rt, world.mine) == ["implementation", "target_agreement", "target_agreement"]
    assert "halb" in browser.open(raw).text  # the other measure's typing was kept as draft


def test_a_correction_updates_the_answer_and_audits_it_without_a_second_move(
    rt: Runtime, world: World, browser: Browser
) -> None:
    mc_id = world.mine[0]
    raw = link(rt, world)
    first = browser.post(raw, {"action": f"submit:{mc_id}", **agreement(mc_id)})
    assert first.status_code == 303
    with rt.sessions() as s:
        version = s.get(MeasureCycle, mc_id).version  # type: ignore[union-attr]
    corrected = browser.post(
        raw, {"action": f"submit:{mc_id}", **agreement(mc_id, targets="30 statt 20 Lesepaten")}
    )
    assert corrected.status_code == 303
    events = _audit(rt, mc_id)
    assert [e.event for e in events] == ["submit_agreement", "answer_corrected"]
    assert events[1].payload["changed"] == ["targets"]
    assert events[1].payload["previous"]["targets"] == f"Ziele für Maßnahme {mc_id}"
    with rt.sessions() as s:
        mc = s.get(MeasureCycle, mc_id)
        assert mc is not None and mc.state == "implementation" and mc.version == version
        ta = s.scalars(
            select(TargetAgreement).where(TargetAgreement.measure_cycle_id == mc_id)
        ).one()
        assert ta.targets == "30 statt 20 Lesepaten"
    # Leaving implementation is the coordinator's move, not a correction.
    refused = browser.post(
        raw,
        {"action": f"submit:{mc_id}", **agreement(mc_id, decision="deferred", reason="doch nicht")},
    )
    assert refused.status_code == 422
    assert _states(rt, [mc_id]) == ["implementation"]
    # Once accepted, the measure leaves the form.
    with unit_of_work(rt.sessions) as s:
        s.scalars(
            select(TargetAgreement).where(TargetAgreement.measure_cycle_id == mc_id)
        ).one().accepted_at = rt.clock.now()
    assert f'id="measure-{mc_id}"' not in browser.open(raw).text


def test_two_tabs_submitting_one_after_the_other_lose_nothing_and_move_once(
    rt: Runtime, world: World, browser: Browser
) -> None:
    raw = link(rt, world)
    browser.open(raw)  # both tabs were opened before either submitted
    answers_a = {k: v for m in world.mine for k, v in agreement(m, targets="Tab A").items()}
    answers_b = {k: v for m in world.mine for k, v in agreement(m, targets="Tab B").items()}
    assert browser.post(raw, {"action": "submit_all", **answers_a}).status_code == 303
    assert browser.post(raw, {"action": "submit_all", **answers_b}).status_code == 303
    for mc_id in world.mine:
        events = [e.event for e in _audit(rt, mc_id)]
        assert events == ["submit_agreement", "answer_corrected"]
        assert _audit(rt, mc_id)[0].payload["answers"]["targets"] == "Tab A"  # kept in the trail
        assert _kinds(rt, mc_id).count("confirmation_agreement") == 1
    assert _states(rt, world.mine) == ["implementation"] * 3


def test_two_tabs_submitting_at_the_same_moment_move_each_measure_once(
    rt: Runtime, world: World
) -> None:
    raw = link(rt, world)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def tab(label: str) -> None:
        try:
            posted = {
                m: {k.split("-", 2)[2]: v for k, v in agreement(m, targets=label).items()}
                for m in world.mine
            }
            barrier.wait()
            with unit_of_work(rt.sessions) as s:
                token = s.scalars(
                    select(FormToken).where(FormToken.token_hash == hash_token(raw))
                ).one()
                outcome = submit(session=s, clock=rt.clock, scope=scope_of(s, token), posted=posted)
                assert outcome.ok
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=tab, args=(label,)) for label in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    for mc_id in world.mine:
        events = [e.event for e in _audit(rt, mc_id)]
        assert events == ["submit_agreement", "answer_corrected"]
        assert _kinds(rt, mc_id).count("confirmation_agreement") == 1


def test_review_form_submits_and_its_proposal_becomes_next_years_draft(
    rt: Runtime, world: World, browser: Browser
) -> None:
    keep, adapt, _other = world.mine
    to_review(rt, [keep, adapt])
    raw = link(rt, world, phase=Phase.REVIEW)
    page = browser.open(raw)
    assert "Rückmeldung zur Zielerreichung 2026" in page.text
    assert f"Ziel für {keep}: 20 Lesepaten" in page.text  # the agreed target is shown
    response = browser.post(
        raw,
        {
            "action": "submit_all",
            f"m-{keep}-achievement": "erreicht",
            f"m-{keep}-proposal": "continue",
            f"m-{keep}-comment": "Alle 20 gewonnen",
            f"m-{adapt}-achievement": "teilweise",
            f"m-{adapt}-obstacles": "Räume fehlten",
            f"m-{adapt}-proposal": "adapt",
            f"m-{adapt}-proposal_text": "Mehr Schulen einbinden",
        },
    )
    assert response.status_code == 303
    assert _states(rt, [keep, adapt]) == ["assessment", "assessment"]
    assert [e.event for e in _audit(rt, adapt)][-1] == "submit_review"
    assert "confirmation_review" in _kinds(rt, adapt)
    for mc_id in (keep, adapt):
        with unit_of_work(rt.sessions) as s:
            apply_event(
                session=s,
                clock=rt.clock,
                measure_cycle_id=mc_id,
                event="accept_review",
                expected_version=None,
                actor="user:1",
            )
    rt.clock.set(datetime(2027, 1, 11, 9, 0, tzinfo=BERLIN))  # type: ignore[attr-defined]
    with unit_of_work(rt.sessions) as s:
        year = open_cycle(session=s, clock=rt.clock, organisation_id=world.org_id, year=2027)
        nxt = s.scalars(select(MeasureCycle).where(MeasureCycle.cycle_id == year.cycle_id)).all()
        drafts = {mc.draft.get("from_measure_cycle_id"): mc.draft for mc in nxt}
    assert drafts[adapt]["proposal"] == "adapt"
    assert drafts[adapt]["proposal_text"] == "Mehr Schulen einbinden"
    assert drafts[adapt]["last_achievement"] == "teilweise"
    # And next year's form starts from it.
    world_2027 = World(world.org_id, year.cycle_id, world.contact_id, world.other_contact_id)
    page = browser.open(link(rt, world_2027))
    assert "Mehr Schulen einbinden" in page.text and "Teilweise erreicht" in page.text
    assert 'value="implement" checked' in page.text


def test_review_correction_before_acceptance(rt: Runtime, world: World, browser: Browser) -> None:
    mc_id = world.mine[0]
    to_review(rt, [mc_id])
    raw = link(rt, world, phase=Phase.REVIEW)
    answers = {f"m-{mc_id}-achievement": "nicht_begonnen", f"m-{mc_id}-proposal": "continue"}
    browser.post(raw, {"action": "submit_all", **answers})
    browser.post(
        raw, {"action": "submit_all", **answers, f"m-{mc_id}-achievement": "nicht_erreicht"}
    )
    assert [e.event for e in _audit(rt, mc_id)][-2:] == ["submit_review", "answer_corrected"]
    with rt.sessions() as s:
        review = s.scalars(select(Review).where(Review.measure_cycle_id == mc_id)).one()
        assert review.achievement == "nicht_erreicht"


def test_delegation_queues_the_colleagues_invitation_and_their_answers_name_both(
    rt: Runtime, world: World, browser: Browser
) -> None:
    raw = link(rt, world)
    browser.open(raw)
    missing_name = browser.post(
        raw, {"email": "neu@stadt.example.org", "name": ""}, suffix="/delegate"
    )
    assert missing_name.status_code == 422
    assert 'aria-describedby="delegate_name-hint delegate_name-error"' in missing_name.text
    assert 'value="neu@stadt.example.org"' in missing_name.text
    own = browser.post(raw, {"email": "MKONTAKT0@stadt.example.org"}, suffix="/delegate")
    assert own.status_code == 422 and "Ihre eigene Adresse" in own.text
    ok = browser.post(
        raw, {"email": " Neu@Stadt.example.org ", "name": "Nora Neu"}, suffix="/delegate"
    )
    assert ok.status_code == 303 and ok.headers["location"].endswith("notice=delegated")
    with rt.sessions() as s:
        colleague = s.scalars(select(Contact).where(Contact.email == "neu@stadt.example.org")).one()
        owner = s.get(Contact, world.contact_id)
        assert owner is not None and colleague.department_id == owner.department_id
        # One row per measure handed on (each measure's timeline lists it), one email.
        messages = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "delegation")).all()
        assert sorted(m.measure_cycle_id for m in messages) == world.mine
        message = messages[0]
        assert message.recipient_email == "neu@stadt.example.org"
        assert message.context["delegate_contact_id"] == colleague.id
        assert message.context["from_contact_id"] == world.contact_id
        assert message.context["cycle_id"] == world.cycle_id
        assert message.context["phase"] == "target_agreement"
        colleague_id = colleague.id
    # The renderer will issue the colleague's token with delegated_from_contact_id; do it here.
    theirs = link(rt, world, contact_id=colleague_id, delegated_from=world.contact_id)
    page = browser.open(theirs)
    assert "in Vertretung für Kontakt 0" in page.text
    mc_id = world.mine[0]
    browser.post(theirs, {"action": f"submit:{mc_id}", **agreement(mc_id)})
    handed, event = _audit(rt, mc_id)[:2]  # the hand-over shows on the measure's timeline first
    assert handed.event == "form_delegated" and handed.actor == f"contact:{world.contact_id}"
    assert event.actor == f"contact:{colleague_id}"
    assert event.payload["on_behalf_of"] == world.contact_id


def test_items_in_scope_follow_the_phase(rt: Runtime, world: World) -> None:
    raw = link(rt, world, phase=Phase.REVIEW)
    with rt.sessions() as s:
        token = s.scalars(select(FormToken).where(FormToken.token_hash == hash_token(raw))).one()
        assert items_in_scope(s, scope_of(s, token)) == []  # nothing is in review yet
