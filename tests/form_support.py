"""Builders for the form tests: a cycle with measures of two contacts, links, and a browser-like client."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests import factories
from workflow.accounts import Role, User
from workflow.cycles.models import Cycle, MeasureCycle
from workflow.cycles.service import open_cycle
from workflow.db import unit_of_work
from workflow.forms.tokens import Phase, issue_token
from workflow.runtime import Runtime
from workflow.transitions import apply_event

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class World:
    org_id: int
    cycle_id: int
    contact_id: int  # owns ``mine``
    other_contact_id: int  # owns ``theirs``
    mine: list[int] = field(default_factory=list)
    theirs: list[int] = field(default_factory=list)


def build_world(rt: Runtime, *, measures: int = 4, coordinator: bool = True) -> World:
    """An organisation whose measures (alternating between two contacts) wait in Zielvereinbarung."""
    clock = rt.clock
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s)
        ms = factories.measures(s, org, measures, contacts=2)
        for m in ms:
            m.interviewed_at = clock.now()  # interviewed already: the cycle starts at the agreement
            m.description = f"Beschreibung von {m.title}"
        if coordinator:
            s.add(
                User(
                    organisation_id=org.id,
                    email="koordination@stadt.example.org",
                    name="Koordinierungsstelle",
                    role=Role.COORDINATOR.value,
                    password_hash="x",
                    created_at=clock.now(),
                )
            )
        result = open_cycle(session=s, clock=clock, organisation_id=org.id, year=2026)
        mcs = s.scalars(select(MeasureCycle).where(MeasureCycle.cycle_id == result.cycle_id))
        owner = {mc.id: mc.measure.contact_id for mc in mcs}
        first, second = ms[0].contact_id, ms[1].contact_id
        assert first is not None and second is not None
        return World(
            org_id=org.id,
            cycle_id=result.cycle_id,
            contact_id=first,
            other_contact_id=second,
            mine=sorted(i for i, c in owner.items() if c == first),
            theirs=sorted(i for i, c in owner.items() if c == second),
        )


def link(
    rt: Runtime,
    world: World,
    *,
    phase: Phase = Phase.TARGET_AGREEMENT,
    contact_id: int | None = None,
    expires_at: datetime | None = None,
    delegated_from: int | None = None,
) -> str:
    now = rt.clock.now()
    with unit_of_work(rt.sessions) as s:
        return issue_token(
            session=s,
            organisation_id=world.org_id,
            contact_id=contact_id or world.contact_id,
            cycle_id=world.cycle_id,
            phase=phase,
            expires_at=expires_at or now + timedelta(days=60),
            now=now,
            issued_by="test",
            delegated_from_contact_id=delegated_from,
        )


def to_review(rt: Runtime, mc_ids: list[int]) -> None:
    """Agree and implement ``mc_ids`` the quick way, then let their review start."""
    from workflow.cycles.models import TargetAgreement

    for mc_id in mc_ids:
        with unit_of_work(rt.sessions) as s:
            s.add(
                TargetAgreement(
                    measure_cycle_id=mc_id,
                    decision="implement",
                    targets=f"Ziel für {mc_id}: 20 Lesepaten",
                    responsible="Frau A",
                    submitted_at=rt.clock.now(),
                    submitted_by="contact:0",
                    accepted_at=rt.clock.now(),
                )
            )
            for event in ("submit_agreement", "start_review"):
                apply_event(
                    session=s,
                    clock=rt.clock,
                    measure_cycle_id=mc_id,
                    event=event,
                    expected_version=None,
                    actor="test",
                )


def cycle_year(rt: Runtime, world: World) -> int:
    with rt.sessions() as s:
        cycle = s.get(Cycle, world.cycle_id)
        assert cycle is not None
        return cycle.year


class Browser:
    """A TestClient that keeps the CSRF cookie and fills the token into every form it posts."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def open(self, raw: str, suffix: str = "", **params: str):  # type: ignore[no-untyped-def]
        response = self.client.get(f"/f/{raw}{suffix}", params=params)
        m = CSRF_FIELD.search(response.text)
        if m:
            self.csrf = m[1]
        return response

    def post(self, raw: str, data: dict[str, str], suffix: str = ""):  # type: ignore[no-untyped-def]
        if not self.csrf:
            self.open(raw)
        return self.client.post(
            f"/f/{raw}{suffix}",
            data={"csrf_token": self.csrf, **data},
            follow_redirects=False,
        )


def agreement(mc_id: int, **answers: str) -> dict[str, str]:
    """A complete "implement" answer for one measure, with overrides."""
    base = {
        "decision": "implement",
        "targets": f"Ziele für Maßnahme {mc_id}",
        "responsible": "Frau Beispiel",
        "resources": "eine halbe Stelle",
        "ms-0-what": "Konzept fertig",
        "ms-0-due": "2026-06-30",
    }
    base.update(answers)
    return {f"m-{mc_id}-{k}": v for k, v in base.items()}


def set_archived(rt: Runtime, organisation_id: int, when: datetime | None) -> None:
    """Archive the organisation at ``when``, or bring it back with None."""
    from workflow.catalogue.models import Organisation

    with unit_of_work(rt.sessions) as s:
        org = s.get(Organisation, organisation_id)
        assert org is not None
        org.archived_at = when
