"""Confirmations after a hand-over (issue 13, item 3): each submitter gets a copy of what they
submitted, naming them; the owner gets a copy of what was answered in their place, naming the
colleague, kept apart from their own confirmation. Real form routes, real SMTP sink."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.app import create_app
from notifications.models import OutboxMessage
from notifications.sender import send_pending
from notifications.sink import CapturingHandler
from tests.conftest import make_runtime
from tests.delegation_support import body, links, to
from tests.form_support import Browser, World, agreement, build_world, link, to_review
from tests.test_data_delivery_drafts import build as build_data
from tests.test_status_check_form import _fields as status_fields
from tests.test_status_check_form import build as build_status_check
from workflow import runtime
from workflow.catalogue.models import Contact
from workflow.clock import FrozenClock
from workflow.cycles.models import MeasureCycle
from workflow.db import unit_of_work
from workflow.forms.tokens import Phase
from workflow.runtime import Runtime

OWNER = "mkontakt0@stadt.example.org"  # "Kontakt 0", owns world.mine
COLLEAGUE = "karla.kollegin@stadt.example.org"


@pytest.fixture
def mail_rt(
    sqlite_url: str, clock: FrozenClock, tmp_path: Path, smtp_sink: tuple[int, CapturingHandler]
) -> Iterator[Runtime]:
    """SQLite only (the subject is what the emails say) and a sender to the real sink."""
    port, _ = smtp_sink
    rt = make_runtime(
        sqlite_url,
        clock,
        tmp_path,
        smtp_port=port,
        smtp_timeout_seconds=2.0,
        base_url="http://zielflow.stadt.example.org",
        mail_from="zielflow@stadt.example.org",
    )
    yield rt
    runtime.install(None)
    rt.dispose()


@pytest.fixture
def world(mail_rt: Runtime) -> World:
    return build_world(mail_rt)


@pytest.fixture
def browser(mail_rt: Runtime) -> Iterator[Browser]:
    with TestClient(create_app()) as client:
        yield Browser(client)


def _english(rt: Runtime, *emails: str) -> None:
    with unit_of_work(rt.sessions) as s:
        s.execute(update(Contact).where(Contact.email.in_(emails)).values(language="en"))


def _hand_on(rt: Runtime, browser: Browser, sink: CapturingHandler, owner_link: str) -> str:
    """The owner hands the form on to the colleague: the colleague's own link."""
    handed = browser.post(
        owner_link, {"email": COLLEAGUE, "name": "Karla Kollegin"}, suffix="/delegate"
    )
    assert handed.status_code == 303, handed.text
    send_pending(rt)
    theirs = links(to(sink, COLLEAGUE))
    assert len(theirs) == 1
    sink.messages.clear()
    return theirs[0]


def _codes(rt: Runtime, mc_ids: list[int]) -> list[str]:
    with rt.sessions() as s:
        return [s.get(MeasureCycle, i).measure.code for i in mc_ids]  # type: ignore[union-attr]


def _of_kind(sink: CapturingHandler, address: str, kind: str) -> list[EmailMessage]:
    return [m for m in to(sink, address) if m["X-Zielflow-Kind"] == kind]


def _one_with(messages: list[EmailMessage], code: str) -> str:
    found = [body(m) for m in messages if code in body(m)]
    assert len(found) == 1, [body(m) for m in messages]
    return found[0]


def test_colleague_and_owner_each_get_their_own_and_the_owner_a_copy(
    mail_rt: Runtime,
    world: World,
    browser: Browser,
    smtp_sink: tuple[int, CapturingHandler],
) -> None:
    _, sink = smtp_sink
    first, second = world.mine
    code1, code2 = _codes(mail_rt, [first, second])
    owner_link = link(mail_rt, world)
    theirs = _hand_on(mail_rt, browser, sink, owner_link)
    given = browser.post(theirs, {"action": f"submit:{first}", **agreement(first)})
    assert given.status_code == 303
    # Both in the same minute, before anything was sent: nothing merged, nothing lost.
    mine = browser.post(owner_link, {"action": f"submit:{second}", **agreement(second)})
    assert mine.status_code == 303
    send_pending(mail_rt)

    kind = "confirmation_agreement"
    colleague = _of_kind(sink, COLLEAGUE, kind)
    assert len(colleague) == 1
    text = body(colleague[0])
    assert code1 in text and code2 not in text
    assert text.splitlines()[0] == "Guten Tag,"  # the colleague states no salutation
    assert "Abgeschickt von: Karla Kollegin, in Vertretung von Kontakt 0" in text

    owner = _of_kind(sink, OWNER, kind)
    assert len(owner) == 2  # the own confirmation and the copy, kept apart
    own = _one_with(owner, code2)
    assert code1 not in own
    assert "Abgeschickt von: Kontakt 0" in own and "Karla" not in own
    copy = _one_with(owner, code1)
    assert code2 not in copy
    assert "in Ihrer Vertretung beantwortet von Karla Kollegin" in copy
    assert "Kopie" in next(m for m in owner if code1 in body(m))["Subject"]

    # Nothing is queued twice: one row per recipient and measure, each key once.
    with mail_rt.sessions() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)).all()
        assert sorted((r.measure_cycle_id, r.recipient_email) for r in rows) == sorted(
            [(first, COLLEAGUE), (first, OWNER), (second, OWNER)]
        )
        assert all(r.status == "sent" for r in rows)
    sink.messages.clear()
    send_pending(mail_rt)
    assert sink.messages == []


def test_when_the_colleague_answers_everything_the_owner_gets_one_copy_in_english(
    mail_rt: Runtime,
    world: World,
    browser: Browser,
    smtp_sink: tuple[int, CapturingHandler],
) -> None:
    _, sink = smtp_sink
    first, second = world.mine
    code1, code2 = _codes(mail_rt, [first, second])
    to_review(mail_rt, world.mine)
    owner_link = link(mail_rt, world, phase=Phase.REVIEW)
    theirs = _hand_on(mail_rt, browser, sink, owner_link)
    _english(mail_rt, OWNER, COLLEAGUE)
    answers = {
        **{f"m-{i}-achievement": "erreicht" for i in world.mine},
        **{f"m-{i}-proposal": "continue" for i in world.mine},
    }
    assert browser.post(theirs, {"action": "submit_all", **answers}).status_code == 303
    send_pending(mail_rt)

    kind = "confirmation_review"
    colleague = _of_kind(sink, COLLEAGUE, kind)
    assert len(colleague) == 1
    text = body(colleague[0])
    assert code1 in text and code2 in text
    assert "Sent by: Karla Kollegin, on behalf of Kontakt 0" in text

    owner = _of_kind(sink, OWNER, kind)
    assert len(owner) == 1
    copy = body(owner[0])
    assert code1 in copy and code2 in copy
    assert "answered on your behalf by Karla Kollegin" in copy
    assert "Copy" in owner[0]["Subject"]


def _handed_link(rt: Runtime, browser: Browser, sink: CapturingHandler, raw: str) -> str:
    """A data or status form handed on to Katrin Kollegin: her own link, from her email."""
    handed = browser.post(
        raw, {"email": "kollegin@stadt.example.org", "name": "Katrin Kollegin"}, suffix="/delegate"
    )
    assert handed.status_code == 303, handed.text
    send_pending(rt)
    theirs = links(to(sink, "kollegin@stadt.example.org"))
    assert len(theirs) == 1
    sink.messages.clear()
    return theirs[0]


def test_data_delivery_receipts_follow_who_delivered_each_revision(
    mail_rt: Runtime, browser: Browser, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    world = build_data(mail_rt)
    theirs = _handed_link(mail_rt, browser, sink, world.raw)
    delivered = {"action": f"submit:{world.mine}", f"r-{world.mine}-survey_date": "2026-02-27"}
    colleague = browser.post(theirs, {**delivered, f"r-{world.mine}-value": "15"})
    assert colleague.status_code == 303
    # The owner corrects in the same minute, before anything was sent: a second revision.
    owner = browser.post(world.raw, {**delivered, f"r-{world.mine}-value": "16"})
    assert owner.status_code == 303
    send_pending(mail_rt)

    (hers,) = _of_kind(sink, "kollegin@stadt.example.org", "confirmation_data")
    text = body(hers)
    assert "Eingetragen von: Katrin Kollegin, in Vertretung von Kontakt 0" in text
    assert links([hers]) == []  # never the owner's own link
    owners = _of_kind(sink, OWNER, "confirmation_data")
    assert len(owners) == 2
    (copy,) = [m for m in owners if "Kopie" in m["Subject"]]
    assert "in Ihrer Vertretung eingetragen von Katrin Kollegin" in body(copy)
    (own,) = [m for m in owners if m is not copy]
    assert "Eingetragen von: Kontakt 0" in body(own) and "Katrin" not in body(own)
    assert len(links([own])) == 1
    with mail_rt.sessions() as s:
        keys = s.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.kind == "confirmation_data")
        ).all()
    assert len(keys) == len(set(keys)) == 3


def test_status_check_receipts_copy_only_what_each_submitter_gave(
    mail_rt: Runtime, browser: Browser, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    world = build_status_check(mail_rt)
    theirs = _handed_link(mail_rt, browser, sink, world.raw)
    fields = status_fields(world)
    given = browser.post(theirs, {"action": f"submit:{world.second}", **fields})
    assert given.status_code == 303
    assert browser.post(world.raw, {"action": f"submit:{world.first}", **fields}).status_code == 303
    send_pending(mail_rt)

    first, second = "M0001", "M0003"  # the codes of world.first and world.second
    (hers,) = _of_kind(sink, "kollegin@stadt.example.org", "status_check_confirmation")
    text = body(hers)
    assert second in text and first not in text
    assert "Eingetragen von: Katrin Kollegin, in Vertretung von Kontakt 0" in text
    assert links([hers]) == []
    owners = _of_kind(sink, OWNER, "status_check_confirmation")
    assert len(owners) == 2
    (copy,) = [m for m in owners if "Kopie" in m["Subject"]]
    assert second in body(copy) and first not in body(copy)
    assert "in Ihrer Vertretung eingetragen von Katrin Kollegin" in body(copy)
    (own,) = [m for m in owners if m is not copy]
    assert first in body(own) and second not in body(own)
    assert "Eingetragen von: Kontakt 0" in body(own)


def test_a_colleague_answering_their_own_form_too_gets_the_two_apart(
    mail_rt: Runtime,
    world: World,
    browser: Browser,
    smtp_sink: tuple[int, CapturingHandler],
) -> None:
    _, sink = smtp_sink
    other = "mkontakt1@stadt.example.org"  # "Kontakt 1", owns world.theirs
    handed = browser.post(link(mail_rt, world), {"email": other, "name": ""}, suffix="/delegate")
    assert handed.status_code == 303
    send_pending(mail_rt)
    (for_owner,) = links(_of_kind(sink, other, "delegation"))
    sink.messages.clear()
    owners_measure, own_measure = world.mine[0], world.theirs[0]
    code_owners, code_own = _codes(mail_rt, [owners_measure, own_measure])
    own_link = link(mail_rt, world, contact_id=world.other_contact_id)
    for raw, mc_id in ((for_owner, owners_measure), (own_link, own_measure)):
        sent = browser.post(raw, {"action": f"submit:{mc_id}", **agreement(mc_id)})
        assert sent.status_code == 303
    send_pending(mail_rt)

    receipts = _of_kind(sink, other, "confirmation_agreement")
    assert len(receipts) == 2
    on_behalf = _one_with(receipts, code_owners)
    assert code_own not in on_behalf and "in Vertretung von Kontakt 0" in on_behalf
    own = _one_with(receipts, code_own)
    assert code_owners not in own and "Vertretung" not in own
