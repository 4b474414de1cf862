"""Two organisations in one database, one sweep and one sending pass through the real SMTP
sink: every email carries its own organisation's sender name, Reply-To and office details,
never the other's (issue 15, item 5)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import NamedTuple

import pytest
from sqlalchemy import select

from notifications.sink import CapturingHandler
from tests import factories
from tests.conftest import BERLIN, make_runtime
from workflow import runtime
from workflow.clock import FrozenClock
from workflow.cycles.models import MeasureCycle
from workflow.cycles.service import open_cycle, record_interview
from workflow.db import unit_of_work
from workflow.runtime import Runtime
from workflow.sweep import run_sweep
from workflow.tasks import send_all


class Office(NamedTuple):
    slug: str
    prefix: str  # the contacts' addresses start with it (tests/factories.py)
    office_name: str
    contact_email: str
    address: tuple[str, str]


OFFICES = (
    Office(
        "nordstadt",
        "N",
        "Integrationsbüro Nordstadt",
        "integration@nordstadt.example.org",
        ("Rathausplatz 1", "12345 Nordstadt"),
    ),
    Office(
        "suedheim",
        "S",
        "Stabsstelle Vielfalt Südheim",
        "vielfalt@suedheim.example.org",
        ("Marktstraße 7", "54321 Südheim"),
    ),
)


@pytest.fixture
def mail_rt(
    database_url: str, clock: FrozenClock, tmp_path: Path, smtp_sink: tuple[int, CapturingHandler]
) -> Iterator[Runtime]:
    rt = make_runtime(
        database_url,
        clock,
        tmp_path,
        smtp_port=smtp_sink[0],
        base_url="https://zielflow.land.example.org",
        mail_from="zielflow@land.example.org",
    )
    yield rt
    runtime.install(None)
    rt.dispose()


def _seed(rt: Runtime, clock: FrozenClock, office: Office) -> None:
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s, slug=office.slug)
        org.office_name = office.office_name
        org.contact_email = office.contact_email
        org.office_address = "\n".join(office.address)
        factories.measures(s, org, 2, prefix=office.prefix)
        open_cycle(session=s, clock=clock, organisation_id=org.id, year=2026)
        for mc_id in s.scalars(
            select(MeasureCycle.id).where(MeasureCycle.organisation_id == org.id)
        ):
            record_interview(
                session=s,
                clock=clock,
                measure_cycle_id=mc_id,
                expected_version=None,
                actor="user:1",
                decision="keep",
            )


def _owner(message: EmailMessage) -> Office:
    to = message["To"].addresses[0].addr_spec
    return next(o for o in OFFICES if to.startswith(o.prefix.lower()))


def _text(message: EmailMessage) -> str:
    return str(message.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]


def test_every_email_speaks_for_its_own_organisation(
    mail_rt: Runtime, clock: FrozenClock, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    for office in OFFICES:
        _seed(mail_rt, clock, office)
    # The invitations are queued; on 30 March the sweep adds the first reminders.
    clock.set(datetime(2026, 3, 30, 8, 1, tzinfo=BERLIN))
    run_sweep(sessions=mail_rt.sessions, clock=clock)
    send_all(mail_rt)

    seen = {(_owner(m).slug, str(m["X-Zielflow-Kind"])) for m in sink.messages}
    assert seen == {
        (o.slug, kind) for o in OFFICES for kind in ("invitation_agreement", "reminder")
    }
    for message in sink.messages:
        own = _owner(message)
        [other] = [o for o in OFFICES if o != own]
        sender = message["From"].addresses[0]
        assert (sender.display_name, sender.addr_spec) == (
            own.office_name,
            "zielflow@land.example.org",
        )
        assert message["Reply-To"].addresses[0].addr_spec == own.contact_email
        text = _text(message)
        assert own.office_name in text and own.contact_email in text
        assert ", ".join(own.address) in text
        for foreign in (other.office_name, other.contact_email, *other.address):
            assert foreign not in text and foreign not in str(message["Reply-To"])
