"""What the emails of a hand-over, a reissued link and a late request say and when they come
(issue 13, items 2, 6 and 9): the colleague's email lists the handed-over measures with their
due date and a link that lives as long as the owner's; a reissued link names every measure it
opens; no reminder arrives right behind the request or new deadline it chases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from notifications.models import OutboxMessage
from notifications.render import render_template
from notifications.sender import send_pending
from notifications.sink import CapturingHandler
from tests.conftest import BERLIN
from tests.delegation_support import body, links, mail_rt, to
from tests.form_support import Browser, World, build_world, link
from tests.test_data_delivery import _at, _kinds, _sweep_twice, build
from tests.test_email_templates import sample_context
from tests.test_sweep import _at as _at_minute
from tests.test_sweep import seed, sweep
from workflow.clock import FrozenClock
from workflow.cycles.coordination import reissue_link
from workflow.cycles.models import MeasureCycle
from workflow.db import unit_of_work
from workflow.forms.tokens import FormToken, hash_token
from workflow.indicators.models import DataRequest
from workflow.runtime import Runtime
from workflow.transitions import apply_event

__all__ = ["mail_rt"]  # the fixture, imported for pytest


def _sent_at(rt: Runtime, kind: str) -> list[str]:
    with rt.sessions() as s:
        return [
            r.created_at.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M")
            for r in s.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
            )
        ]


def test_a_data_request_opened_late_is_not_followed_by_a_reminder_at_once(
    rt: Runtime, clock: FrozenClock
) -> None:
    build(rt)  # due Fri 20 March 2026; reminders 6 and 17 March and on the day, 08:00
    # Opened Wed 18 March, after two reminder dates: the request alone goes out.
    _sweep_twice(rt, clock, _at(date(2026, 3, 18)))
    assert _kinds(rt) == ["data_request"]
    _sweep_twice(rt, clock, _at(date(2026, 3, 19)))
    assert _kinds(rt) == ["data_request"]
    # Two working days later: the reminder on the due date.
    _sweep_twice(rt, clock, _at(date(2026, 3, 20)))
    assert _kinds(rt) == ["data_final_reminder", "data_request"]
    [opened] = _sent_at(rt, "data_request")
    [reminded] = _sent_at(rt, "data_final_reminder")
    assert (opened, reminded) == ("2026-03-18 09:00", "2026-03-20 09:00")


def test_a_data_request_opened_on_its_due_date_owes_no_reminder_only_the_escalation(
    rt: Runtime, clock: FrozenClock
) -> None:
    build(rt)
    _sweep_twice(rt, clock, _at(date(2026, 3, 20), 10))
    assert _kinds(rt) == ["data_request"]
    with rt.sessions() as s:
        request = s.scalars(select(DataRequest)).one()
        # Next: the department head, 7 days after the due date.
        assert request.next_action_at is not None
        assert request.next_action_at.astimezone(BERLIN).date() == date(2026, 3, 27)
    _sweep_twice(rt, clock, _at(date(2026, 3, 27)))
    assert _kinds(rt) == ["data_escalation_head", "data_request"]


def test_a_close_new_deadline_is_not_chased_by_a_reminder_at_once(
    rt: Runtime, clock: FrozenClock
) -> None:
    [mc_id] = seed(rt, clock, measures=1)  # Mon 2 March 2026, 10:00
    with unit_of_work(rt.sessions) as s:
        apply_event(
            session=s,
            clock=clock,
            measure_cycle_id=mc_id,
            event="extend_deadline",
            expected_version=None,
            actor="user:1",
            # Thu: its 3-day reminder was Mon 08:00, two hours ago.
            payload={"due_on": "2026-03-05", "reason": "Urlaub"},
        )
    sweep(rt, clock, _at_minute(2026, 3, 2, 10, 5))
    sweep(rt, clock, _at_minute(2026, 3, 3, 9))
    with rt.sessions() as s:
        kinds = sorted(s.scalars(select(OutboxMessage.kind)))
        mc = s.get(MeasureCycle, mc_id)
        assert mc is not None and mc.next_action_at is not None
        next_at = mc.next_action_at
    assert "reminder" not in kinds and "final_reminder" not in kinds, kinds
    assert next_at.astimezone(BERLIN) - _at_minute(2026, 3, 5, 8, 0) == timedelta(0)
    sweep(rt, clock, _at_minute(2026, 3, 5, 8, 1))
    assert _sent_at(rt, "final_reminder") == ["2026-03-05 08:01"]


# -- the colleague's email (item 2) and the reissued link (item 9) ----------------------------

COLLEAGUE = "karla.kollegin@stadt.example.org"


def _hand_on(rt: Runtime, world: World, owner_link: str) -> None:
    with TestClient(create_app()) as client:
        handed = Browser(client).post(
            owner_link, {"email": COLLEAGUE, "name": "Karla Kollegin"}, suffix="/delegate"
        )
    assert handed.status_code == 303, handed.text


def _expiry_of(rt: Runtime, raw: str) -> datetime:
    with rt.sessions() as s:
        token = s.scalars(select(FormToken).where(FormToken.token_hash == hash_token(raw))).one()
        return token.expires_at


def test_the_colleagues_email_lists_the_measures_with_their_due_date_and_lives_as_long(
    mail_rt: Runtime, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    world = build_world(mail_rt)  # the owner's two measures, due Mon 13 April 2026
    owner_expires = datetime(2026, 6, 30, 22, 0, tzinfo=UTC)  # end of 30 June, Berlin
    owner_link = link(mail_rt, world, expires_at=owner_expires)
    _hand_on(mail_rt, world, owner_link)
    send_pending(mail_rt)
    [message] = to(sink, COLLEAGUE)
    text = body(message)
    assert "diese 2 Maßnahmen zu übernehmen" in text
    assert "M0001 Maßnahme 1" in text and "M0003 Maßnahme 3" in text
    assert "Bitte füllen Sie das Formular bis zum 13.04.2026 aus" in text
    assert "gilt bis zum 30.06.2026" in text
    [theirs] = links([message])
    assert _expiry_of(mail_rt, theirs) == _expiry_of(mail_rt, owner_link)


def test_the_colleagues_link_never_ends_before_the_due_date(
    mail_rt: Runtime, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    world = build_world(mail_rt)
    owner_link = link(mail_rt, world, expires_at=mail_rt.clock.now() + timedelta(days=3))
    _hand_on(mail_rt, world, owner_link)
    send_pending(mail_rt)
    [message] = to(sink, COLLEAGUE)
    assert "gilt bis zum 13.05.2026" in body(message)  # 30 days after the due date


def test_a_reissued_link_names_every_measure_it_opens(
    mail_rt: Runtime, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    world = build_world(mail_rt)
    owner = "mkontakt0@stadt.example.org"
    with unit_of_work(mail_rt.sessions) as s:
        reissue_link(
            session=s,
            clock=mail_rt.clock,
            measure_cycle_id=world.mine[0],  # asked for from one measure's page
            expected_version=None,
            actor="user:1",
        )
    send_pending(mail_rt)
    [message] = [m for m in to(sink, owner) if m["X-Zielflow-Kind"] == "link_reissued"]
    text = body(message)
    assert "Er gilt für diese 2 Maßnahmen" in text
    assert "M0001 Maßnahme 1" in text and "M0003 Maßnahme 3" in text
    [new] = links([message])
    with TestClient(create_app()) as client:
        page = Browser(client).open(new)
    assert page.status_code == 200
    assert "M0001" in page.text and "M0003" in page.text


@pytest.mark.parametrize("kind", ["delegation", "link_reissued"])
@pytest.mark.parametrize("lang", ["de", "en"])
def test_a_link_without_a_due_date_names_no_empty_date(kind: str, lang: str) -> None:
    """Every measure already answered (a correction): no "bis zum  aus"."""
    context = sample_context(kind, lang) | {"due_on": ""}
    text = render_template(kind, lang, context).text
    assert "bis zum  " not in text and "by :" not in text and "by ." not in text
    assert context["form_url"] in text
