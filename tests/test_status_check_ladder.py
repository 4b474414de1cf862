"""The status check's ladder beyond the heads, and its hand-over's emails.

The steering rung puts an unanswered part into the bodies' digests once, as its own line,
in German and English, and a later digest reports it answered and then drops it (the sweep
rule on SQLite and PostgreSQL, the digest on SQLite). A colleague's invitation whose
hand-over ended is withdrawn at sending, and the owner is told of a hand-over by email
(through the real SMTP sink).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from notifications.digest import build_digests
from notifications.digest_items import open_items, pending_rows_closed, resolution
from notifications.models import OutboxMessage
from notifications.recipients import WITHDRAWN
from notifications.sender import send_pending
from notifications.sink import CapturingHandler
from tests.conftest import BERLIN, make_runtime
from tests.delegation_support import LINK, body, to
from tests.form_support import World, build_world
from workflow import runtime
from workflow.bodies.models import Body, BodyMember
from workflow.catalogue.models import Contact
from workflow.clock import FrozenClock
from workflow.db import unit_of_work
from workflow.deadlines import DeadlinePolicy
from workflow.forms.models import Delegation, DelegationStatus
from workflow.forms.tokens import FormToken, Phase, issue_token
from workflow.runtime import Runtime
from workflow.status_checks.form_handover import hand_on
from workflow.status_checks.models import StatusCheckRequest
from workflow.status_checks.selection import Selection
from workflow.status_checks.service import close_status_check, open_status_check
from workflow.sweep import run_sweep

DUE = date(2026, 4, 15)  # heads on 22 April, the steering rung on 6 May
STEERING_DAY = date(2026, 5, 6)
COLLEAGUE = "kollegin@stadt.example.org"


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN)


def open_check(rt: Runtime, world: World) -> int:
    with unit_of_work(rt.sessions) as s:
        return open_status_check(
            s, clock=rt.clock, organisation_id=world.org_id, selection=Selection(),
            due_on=DUE, actor="user:1",
        ).id  # fmt: skip


def sweep_twice(rt: Runtime, clock: FrozenClock, moment: datetime) -> None:
    clock.set(moment)
    run_sweep(sessions=rt.sessions, clock=clock)
    run_sweep(sessions=rt.sessions, clock=clock)


def steering_rows(rt: Runtime) -> list[tuple[str, int]]:
    with rt.sessions() as s:
        return [
            (r.dedupe_key, r.context["level"])
            for r in s.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.kind == "digest_item",
                    OutboxMessage.dedupe_key.like("sc:%"),
                )
                .order_by(OutboxMessage.dedupe_key)
            )
        ]


def part_of(rt: Runtime, contact_id: int) -> int:
    with rt.sessions() as s:
        return s.scalars(
            select(StatusCheckRequest.id).where(StatusCheckRequest.contact_id == contact_id)
        ).one()


def test_the_steering_rung_queues_one_digest_item_per_part_on_its_day(
    rt: Runtime, clock: FrozenClock
) -> None:
    world = build_world(rt, measures=2)
    check_id = open_check(rt, world)
    sweep_twice(rt, clock, at(STEERING_DAY - timedelta(days=1)))
    assert steering_rows(rt) == []
    sweep_twice(rt, clock, at(STEERING_DAY))
    sweep_twice(rt, clock, at(STEERING_DAY + timedelta(days=8)))
    parts = sorted(part_of(rt, c) for c in (world.contact_id, world.other_contact_id))
    assert steering_rows(rt) == [(f"sc:{p}:1:escalation:2", 2) for p in parts]
    with rt.sessions() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "digest_item")).all()
        assert {(r.channel, r.recipient_email) for r in rows if r.dedupe_key.startswith("sc:")} == {
            ("digest", "")
        }
    # What the bodies' digests read (the JSON paths on both databases): open until the check
    # closes; then its rows, never reported, are closed for the outbox's record.
    add_body(rt, world.org_id)
    with rt.sessions() as s:
        body = s.scalars(select(Body)).one()
        items = open_items(s, body=body, policy=DeadlinePolicy(), today=STEERING_DAY)
        checks = {k: (i.kind, i.level) for k, i in items.items() if k.startswith("sc:")}
    assert checks == {f"sc:{p}:1": ("status_check", 2) for p in parts}
    with unit_of_work(rt.sessions) as s:
        close_status_check(
            s, clock=clock, organisation_id=world.org_id, status_check_id=check_id, actor="u:1"
        )
    with rt.sessions() as s:
        items = open_items(s, body=body, policy=DeadlinePolicy(), today=STEERING_DAY)
        assert [k for k in items if k.startswith("sc:")] == []
        ended = resolution(s, f"sc:{parts[0]}:1")
        assert ended is not None and ended.state == "closed"
        closed = set(pending_rows_closed(s, organisation_id=world.org_id))
        ids = {r.id for r in rows if r.dedupe_key.startswith("sc:")}
    assert ids <= closed


# --- the digest, on SQLite ----------------------------------------------------------------


def add_body(rt: Runtime, org_id: int) -> None:
    with unit_of_work(rt.sessions) as s:
        body = Body(
            organisation_id=org_id, name="Steuerungsgruppe", kind="steering_group",
            scope="all", digest_cadence="on_change",
        )  # fmt: skip
        s.add(body)
        s.flush()
        for email, lang in (("anna@stadt.example.org", "de"), ("ben@stadt.example.org", "en")):
            s.add(BodyMember(body_id=body.id, name=email.split("@")[0], email=email, language=lang))


def digests_to(rt: Runtime, email: str) -> list[dict[str, Any]]:
    with rt.sessions() as s:
        rows = s.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "digest", OutboxMessage.recipient_email == email)
            .order_by(OutboxMessage.id)
        ).all()
        return [dict(r.context["digest"]) for r in rows]


def lines(digest: dict[str, Any]) -> list[str]:
    return [
        f"{i['line']}{' | ' + i['resolution'] if i['resolution'] else ''}"
        for i in digest.get("status_checks", [])
    ]


def day_of(moment: date, hour: int = 10) -> datetime:
    return at(moment, hour)


def test_the_digest_names_an_unanswered_part_once_and_its_answer_once(
    rt_sqlite: Runtime, clock: FrozenClock
) -> None:
    rt = rt_sqlite
    world = build_world(rt, measures=4)  # M0001, M0003 for Kontakt 0; M0002, M0004 for 1
    add_body(rt, world.org_id)
    open_check(rt, world)  # on Monday 2 March 2026
    everyone = ("anna@stadt.example.org", "ben@stadt.example.org")

    def sweep_and_digest(moment: datetime) -> None:
        sweep_twice(rt, clock, moment)
        build_digests(sessions=rt.sessions, clock=clock)
        build_digests(sessions=rt.sessions, clock=clock)

    sweep_and_digest(day_of(STEERING_DAY - timedelta(days=1)))
    assert [lines(d) for d in digests_to(rt, everyone[0])] in ([], [[]])
    sweep_and_digest(day_of(STEERING_DAY))
    *_, german = digests_to(rt, everyone[0])
    *_, english = digests_to(rt, everyone[1])
    assert lines(german) == [
        "Sachstandsabfrage vom 02.03.2026, fällig am 15.04.2026: "
        "keine Antwort von Kontakt 0 zu M0001, M0003",
        "Sachstandsabfrage vom 02.03.2026, fällig am 15.04.2026: "
        "keine Antwort von Kontakt 1 zu M0002, M0004",
    ]
    assert lines(english) == [
        "Status check of 2 March 2026, due on 15 April 2026: "
        "no answer from Kontakt 0 on M0001, M0003",
        "Status check of 2 March 2026, due on 15 April 2026: "
        "no answer from Kontakt 1 on M0002, M0004",
    ]
    assert all(i["is_new"] for i in german["status_checks"])
    told = len(digests_to(rt, everyone[0]))

    # A second sweep and digest on later days: nothing new, so the line is not told again.
    sweep_and_digest(day_of(STEERING_DAY + timedelta(days=1)))
    later = digests_to(rt, everyone[0])[told:]
    assert all(not i["is_new"] for d in later for i in d.get("status_checks", []))

    # Kontakt 0 answers: the next digest says so once, and the one after forgets the part.
    with unit_of_work(rt.sessions) as s:
        s.execute(
            update(StatusCheckRequest)
            .where(StatusCheckRequest.contact_id == world.contact_id)
            .values(answered_at=clock.now(), answered_by=f"contact:{world.contact_id}")
        )
    told = len(digests_to(rt, everyone[0]))
    sweep_and_digest(day_of(STEERING_DAY + timedelta(days=2)))
    after = digests_to(rt, everyone[0])[told:]
    assert [line for d in after for line in lines(d) if "Kontakt 0" in line] == [
        "Sachstandsabfrage vom 02.03.2026, fällig am 15.04.2026: "
        "keine Antwort von Kontakt 0 zu M0001, M0003 | beantwortet"
    ]
    *_, english = digests_to(rt, everyone[1])
    assert [line for line in lines(english) if "Kontakt 0" in line] == [
        "Status check of 2 March 2026, due on 15 April 2026: "
        "no answer from Kontakt 0 on M0001, M0003 | answered"
    ]
    told = len(digests_to(rt, everyone[0]))
    with unit_of_work(rt.sessions) as s:  # something new, so that a digest goes out at all
        s.execute(
            update(StatusCheckRequest)
            .where(StatusCheckRequest.contact_id == world.other_contact_id)
            .values(answered_at=clock.now(), answered_by=f"contact:{world.other_contact_id}")
        )
    sweep_and_digest(day_of(STEERING_DAY + timedelta(days=3)))
    (last,) = digests_to(rt, everyone[0])[told:]
    assert [line for line in lines(last) if "Kontakt 0" in line] == []
    assert lines(last) == [
        "Sachstandsabfrage vom 02.03.2026, fällig am 15.04.2026: "
        "keine Antwort von Kontakt 1 zu M0002, M0004 | beantwortet"
    ]
    with rt.sessions() as s:
        rows = s.scalars(
            select(OutboxMessage.status).where(OutboxMessage.dedupe_key.like("sc:%:escalation:2"))
        ).all()
    assert set(rows) == {"included"}
    told_open = [
        i["line"]
        for d in digests_to(rt, everyone[0])
        for i in d.get("status_checks", [])
        if i["is_new"] and i["resolution"] is None
    ]
    assert len(told_open) == 2 and len(set(told_open)) == 2  # each part told once in all


def test_the_digest_email_shows_the_line_in_both_languages(
    rt_sqlite: Runtime, clock: FrozenClock
) -> None:
    from notifications.render import Renderer

    rt = rt_sqlite
    world = build_world(rt, measures=2)
    add_body(rt, world.org_id)
    open_check(rt, world)
    sweep_twice(rt, clock, day_of(STEERING_DAY))
    build_digests(sessions=rt.sessions, clock=clock)
    with unit_of_work(rt.sessions) as s:
        rows = s.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "digest").order_by(OutboxMessage.id)
        ).all()
        emails = {r.language: Renderer(s, rt.settings, clock.now()).render([r]) for r in rows}
    de, en = emails["de"], emails["en"]
    assert "Sachstandsabfragen ohne Antwort" in de.text
    assert "keine Antwort von Kontakt 0 zu M0001" in de.text
    assert "keine Antwort von Kontakt 0 zu M0001" in de.html
    assert "Status checks without an answer" in en.text
    assert "no answer from Kontakt 0 on M0001" in en.html
    assert "/sachstandsabfragen/" in de.text


# --- the hand-over's emails, through the real SMTP sink -----------------------------------


@pytest.fixture
def sink_rt(
    sqlite_url: str, clock: FrozenClock, tmp_path: Path, smtp_sink: tuple[int, CapturingHandler]
) -> Iterator[Runtime]:
    port, _ = smtp_sink
    rt = make_runtime(
        sqlite_url, clock, tmp_path, smtp_port=port, smtp_timeout_seconds=2.0,
        base_url="http://zielflow.stadt.example.org", send_max_attempts=3,
        mail_from="zielflow@stadt.example.org",
    )  # fmt: skip
    yield rt
    runtime.install(None)
    rt.dispose()


def hand_over(rt: Runtime, world: World) -> int:
    """The owner hands their part to a colleague through their own link; the delegation id."""
    part = part_of(rt, world.contact_id)
    with unit_of_work(rt.sessions) as s:
        request = s.get(StatusCheckRequest, part)
        assert request is not None
        issue_token(
            session=s, organisation_id=world.org_id, contact_id=world.contact_id,
            cycle_id=request.status_check.cycle_id, phase=Phase.STATUS_CHECK,
            expires_at=rt.clock.now() + timedelta(days=60), now=rt.clock.now(),
            issued_by="test", status_check_request_id=part,
        )  # fmt: skip
        token = s.scalars(select(FormToken).order_by(FormToken.id.desc())).first()
        assert token is not None
        return hand_on(
            session=s, clock=rt.clock, token=token, request=request,
            email=COLLEAGUE, name="Katrin Kollegin",
        ).id  # fmt: skip


def owner_email(rt: Runtime, world: World) -> str:
    with rt.sessions() as s:
        owner = s.get(Contact, world.contact_id)
        assert owner is not None
        return owner.email


def kinds_of(messages: list[EmailMessage]) -> list[str]:
    return sorted(str(m["X-Zielflow-Kind"]) for m in messages)


def test_the_owner_is_told_that_their_part_was_handed_on(
    sink_rt: Runtime, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    world = build_world(sink_rt, measures=4)
    open_check(sink_rt, world)
    send_pending(sink_rt)  # the invitations of the check itself
    sent_before = len(sink.messages)
    hand_over(sink_rt, world)
    send_pending(sink_rt)
    new = sink.messages[sent_before:]
    owner = owner_email(sink_rt, world)
    (notice,) = _to(new, owner)
    assert str(notice["X-Zielflow-Kind"]) == "status_check_delegation_notice"
    assert "Katrin Kollegin" in str(notice["Subject"])
    text = body(notice)
    assert f"Katrin Kollegin ({COLLEAGUE})" in text
    assert "M0001" in text and "M0003" in text and "M0002" not in text
    assert "15.04.2026" in text
    assert not LINK.search(text)  # the owner's own link stays in the owner's invitation
    (invitation,) = _to(new, COLLEAGUE)
    assert str(invitation["X-Zielflow-Kind"]) == "status_check_request"


def _to(messages: list[EmailMessage], address: str) -> list[EmailMessage]:
    return [m for m in messages if m["To"].addresses[0].addr_spec == address]


def test_a_colleagues_invitation_whose_hand_over_ended_is_withdrawn(
    sink_rt: Runtime, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    world = build_world(sink_rt, measures=2)
    open_check(sink_rt, world)
    delegation_id = hand_over(sink_rt, world)
    with unit_of_work(sink_rt.sessions) as s:
        s.execute(
            update(Delegation)
            .where(Delegation.id == delegation_id)
            .values(status=DelegationStatus.REVOKED.value)
        )
    send_pending(sink_rt)
    assert to(sink, COLLEAGUE) == []
    with sink_rt.sessions() as s:
        row = s.scalars(
            select(OutboxMessage).where(OutboxMessage.dedupe_key.like("sc:%:delegation:%"))
        ).one()
        tokens = s.scalars(
            select(FormToken).where(FormToken.delegated_from_contact_id.is_not(None))
        ).all()
    assert (row.status, row.last_error) == ("dead", WITHDRAWN)  # withdrawn, not failed
    assert tokens == []
