"""The pages no other phone test reaches, 375 px wide in real headless Chromium: no sideways
scrolling. tests/test_narrow_screens.py walks the coordinator's navigation and the pages it
leads to; this walks the rest of the GET pages a person reads: sign-in and password pages, every
kind of contact form with its thanks and expired-link pages, a steering member's
/mein-gremium, the demo's mail pages, the meeting pack and the field's status sheet, and the
error page. One browser context; the people change by their cookies. Each page also goes
through axe-core (serious and critical findings), as the other browser tests do.

The data is the demo's (example catalogue and indicators, people, status checks with
milestones, bodies with meetings and Aufträge). Screenshots of offenders under test-output/.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from notifications.models import OutboxMessage
from tests.conftest import BERLIN, OUTPUT
from tests.dashboard_seed import EMAILS, PASSWORD, seed
from tests.form_support import to_review
from tests.live import LiveServer, start_live_server
from workflow.accounts import Role
from workflow.bodies.members import add_member
from workflow.bodies.models import Meeting
from workflow.catalogue.models import Field, Organisation
from workflow.clock import FrozenClock
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import MeasureCycle
from workflow.cycles.service import record_interview
from workflow.db import unit_of_work
from workflow.decisions.models import Decision
from workflow.demo import EXAMPLE_INDICATORS
from workflow.demo_data import ensure_people
from workflow.demo_meetings import ensure_meetings, steering_group
from workflow.demo_status_checks import ensure_status_checks
from workflow.forms.tokens import Phase, issue_token
from workflow.indicators.importer import import_indicators
from workflow.indicators.models import DataRequest
from workflow.milestones.models import Milestone
from workflow.runtime import Runtime
from workflow.status_checks.models import StatusCheckRequest
from workflow.sweep import run_sweep

pytestmark = pytest.mark.browser

PHONE = 375
MAIL = "1772442300-1.eml"
MESSAGE_ID = "<telefon-1@zielflow.test>"
# A long unbroken subject and address: what makes a mail page wide if anything does.
EML = (
    "From: Koordinierungsstelle Integration <koordination@musterstadt.example.org>\r\n"
    "To: amtsleitung-jugend-schule-und-sport@musterstadt.example.org\r\n"
    "Subject: Bitte um Ihre Zielvereinbarung 2026 – Rückmeldung bis 13.04.2026\r\n"
    "Date: Mon, 02 Mar 2026 09:05:00 +0000\r\n"
    f"Message-ID: {MESSAGE_ID}\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Guten Tag,\r\n\r\nbitte öffnen Sie diesen Link: https://zielflow.musterstadt.example.org/f/"
    + "A" * 43
    + "\r\n"
)
CULPRITS = """limit => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > limit
    && !(e.parentElement && e.parentElement.getBoundingClientRect().right > limit))
  .slice(0, 3)
  .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
    + ' ' + Math.round(e.getBoundingClientRect().right))
"""


def _token(rt: Runtime, org_id: int, contact_id: int, phase: Phase, **scope: Any) -> str:
    now = rt.clock.now()
    with unit_of_work(rt.sessions) as session:
        return issue_token(
            session=session,
            organisation_id=org_id,
            contact_id=contact_id,
            phase=phase,
            expires_at=now + timedelta(days=60),
            now=now,
            issued_by="test",
            **scope,
        )


def _world(rt: Runtime) -> dict[str, list[str]]:
    """The demo's data; returns the paths to walk, by who walks them."""
    assert isinstance(rt.clock, FrozenClock)
    rt.clock.set(datetime(2026, 2, 10, 10, 0, tzinfo=BERLIN))  # February's data requests open
    s = seed(rt)
    now = rt.clock.now()
    with unit_of_work(rt.sessions) as session:
        org = session.get(Organisation, s.organisation_id)
        assert org is not None
        ensure_people(session, org)
        import_indicators(
            session=session,
            organisation_id=org.id,
            path=EXAMPLE_INDICATORS,
            now=now,
            today=calendar_of(org).local_date(now),
        )
        ensure_status_checks(session=session, org=org, now=now)
        ensure_meetings(session=session, org=org, now=now)
        body = steering_group(session, org.id)
        assert body is not None
        add_member(
            session=session,
            body=body,
            name="Petra Sommer",
            email=EMAILS[Role.STEERING],
            today=now.date() - timedelta(days=30),
        )
        waiting = list(
            session.scalars(
                select(MeasureCycle)
                .where(
                    MeasureCycle.cycle_id == s.cycle_id, MeasureCycle.state == "initial_interview"
                )
                .order_by(MeasureCycle.id)
            )
        )[:2]
        for mc in waiting:
            record_interview(
                session=session,
                clock=rt.clock,
                measure_cycle_id=mc.id,
                expected_version=None,
                actor="test",
                decision="keep",
                held_on=now.date(),
            )
        session.add(
            OutboxMessage(
                organisation_id=org.id,
                dedupe_key="telefon:1",
                kind="invitation_agreement",
                recipient_email="amtsleitung-jugend-schule-und-sport@musterstadt.example.org",
                status="sent",
                created_at=now,
                not_before=now,
                message_id=MESSAGE_ID,
                sent_at=now,
            )
        )
    to_review(rt, [waiting[1].id])
    run_sweep(sessions=rt.sessions, clock=rt.clock)  # the data requests of the month
    sink = rt.settings.mail_sink_dir
    assert sink is not None
    sink.mkdir(parents=True, exist_ok=True)
    (sink / MAIL).write_bytes(EML.encode())

    with rt.sessions() as session:
        agreement, review = (session.get(MeasureCycle, mc.id) for mc in waiting)
        assert agreement is not None and review is not None
        assignment = session.scalars(
            select(Decision).where(Decision.kind == "assignment", Decision.contact_id.is_not(None))
        ).first()
        asked = session.scalars(select(StatusCheckRequest).order_by(StatusCheckRequest.id)).first()
        milestone = session.scalars(
            select(Milestone).where(Milestone.status == "open").order_by(Milestone.id)
        ).first()
        data = session.scalars(select(DataRequest).where(DataRequest.status == "open")).first()
        meeting = session.scalars(select(Meeting.id).order_by(Meeting.id)).first()
        field = session.scalars(select(Field.code).order_by(Field.code)).first()
        assert None not in (assignment, asked, milestone, data, meeting, field)
        assert assignment and asked and milestone and data
        milestone_owner = session.get(MeasureCycle, milestone.measure_cycle_id)
        assert milestone_owner is not None and milestone_owner.measure.contact_id is not None
        org_id, cycle_id = s.organisation_id, s.cycle_id
        forms = [
            _token(rt, org_id, c, Phase.TARGET_AGREEMENT, cycle_id=cycle_id)
            for c in [agreement.measure.contact_id]
            if c is not None
        ]
        forms += [
            _token(rt, org_id, c, Phase.REVIEW, cycle_id=cycle_id)
            for c in [review.measure.contact_id]
            if c is not None
        ]
        assert assignment.contact_id is not None
        forms += [
            _token(rt, org_id, assignment.contact_id, Phase.ASSIGNMENT, cycle_id=cycle_id),
            _token(
                rt,
                org_id,
                asked.contact_id,
                Phase.STATUS_CHECK,
                cycle_id=cycle_id,
                status_check_request_id=asked.id,
            ),
            _token(
                rt,
                org_id,
                milestone_owner.measure.contact_id,
                Phase.MILESTONE,
                cycle_id=milestone_owner.cycle_id,
                milestone_id=milestone.id,
            ),
            _token(rt, org_id, data.contact_id, Phase.DATA_DELIVERY, cycle_id=None),
        ]
    assert len(forms) == 6
    return {
        "public": [
            "/login",
            "/passwort/vergessen",
            "/passwort/neu/" + "x" * 43,
            *(f"/f/{raw}" for raw in forms),
            f"/f/{forms[0]}/danke",
            "/f/" + "y" * 43,  # a link that never was: the expired-link page
        ],
        "steering": ["/mein-gremium"],
        "coordinator": [
            "/mails",
            f"/mails/{MAIL}",
            f"/sitzungen/{meeting}/unterlage",
            f"/berichte/sachstand?feld={field}",
            "/massnahmen/999999",  # the error page
        ],
    }


@pytest.fixture
def live(rt_sqlite: Runtime) -> Iterator[tuple[dict[str, list[str]], LiveServer]]:
    paths = _world(rt_sqlite)
    rt_sqlite.settings.environment = "development"  # the mail pages are a demo tool
    server = start_live_server()
    yield paths, server
    server.stop()


def _axe(page: Any) -> list[tuple[str, str, list[Any]]]:
    """axe-core's serious and critical findings on the page as it stands."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]


def _sign_in(page: Any, server: LiveServer, role: Role) -> None:
    page.context.clear_cookies()
    page.goto(f"{server.url}/login")
    page.get_by_label("E-Mail-Adresse").fill(EMAILS[role])
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(f"{server.url}/pipeline")


def test_the_remaining_pages_fit_a_phone(
    browser: Any, live: tuple[dict[str, list[str]], LiveServer]
) -> None:
    paths, server = live
    context = browser.new_context(locale="de-DE", viewport={"width": PHONE, "height": 800})
    page = context.new_page()
    too_wide: dict[str, tuple[int, list[str]]] = {}
    inaccessible: dict[str, list[tuple[str, str, list[Any]]]] = {}
    seen = 0
    for who in ("public", "steering", "coordinator"):
        if who != "public":
            _sign_in(page, server, Role.STEERING if who == "steering" else Role.COORDINATOR)
        for path in paths[who]:
            response = page.goto(f"{server.url}{path}")
            assert response is not None and response.status < 500, path
            # A page that answers is one a person reads: the error pages are walked too.
            assert response.status in (200, 404, 410) or path.startswith("/passwort"), (
                path,
                response.status,
            )
            seen += 1
            width = int(page.evaluate("document.documentElement.scrollWidth"))
            if width > PHONE:
                too_wide[path] = (width, page.evaluate(CULPRITS, PHONE))
                OUTPUT.mkdir(parents=True, exist_ok=True)
                name = path.strip("/").replace("/", "-").replace("?", "-")[:60]
                page.screenshot(path=str(OUTPUT / f"phone-{name}.png"), full_page=True)
            if found := _axe(page):
                inaccessible[path] = found
    context.close()
    assert seen == sum(len(p) for p in paths.values())
    assert too_wide == {}, "\n".join(f"{p}: {w}" for p, w in too_wide.items())
    assert inaccessible == {}, "\n".join(f"{p}: {f}" for p, f in inaccessible.items())
