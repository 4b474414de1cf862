"""A simulated year: no more than a tenth of the digests sent repeat the member's previous one.

The real simulation (sweep, digests, sender, SMTP sink; in a child process started when the
module is collected) runs the example catalogue and its indicators for 365 days, with four
bodies of different kind, scope and cadence, members in German and English, and meetings at
each body's rhythm. A digest repeats the previous one
when it tells the same as that member's previous digest of the same body: the same items in
the same condition, and no other meeting.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from notifications.models import OutboxMessage
from tests.conftest import EXAMPLES
from tests.simulated_year import Background
from workflow.bodies.models import Body, BodyField, BodyMember, Meeting
from workflow.catalogue.models import Field
from workflow.catalogue.service import ensure_organisation, import_catalogue
from workflow.db import make_engine, make_session_factory, unit_of_work
from workflow.meetings.models import AgendaItem
from workflow.migrate import upgrade

START = date(2026, 1, 5)
# name, kind, scope, cadence, fields, members (email, language), meeting days
BODIES: tuple[tuple[str, str, str, str, tuple[str, ...], tuple[tuple[str, str], ...], tuple[date, ...]], ...] = (  # noqa: E501
    (
        "Steuerungsgruppe Integration",
        "steering_group",
        "all",
        "weekly",
        (),
        (("sommer@stadt.example.org", "de"), ("weber@stadt.example.org", "de"),
         ("okafor@stadt.example.org", "en")),
        (date(2026, 5, 20), date(2026, 11, 18)),
    ),
    (
        "Begleitgremium Integrationskonzept",
        "advisory_board",
        "fields",
        "monthly",
        ("A", "B"),
        (("hoffmann@stadt.example.org", "de"), ("demir@stadt.example.org", "en")),
        (date(2026, 3, 11), date(2026, 6, 10), date(2026, 9, 16), date(2026, 12, 2)),
    ),
    (
        "Arbeitsgruppe Zusammenleben",
        "working_group",
        "fields",
        "on_change",
        ("C",),
        (("becker@stadt.example.org", "de"), ("novak@stadt.example.org", "en")),
        (date(2026, 6, 24),),
    ),
    (
        "Monitoringgruppe",
        "monitoring_group",
        "indicators",
        "before_meeting",
        (),
        (("schulz@stadt.example.org", "de"), ("smith@stadt.example.org", "en")),
        (date(2026, 4, 22), date(2026, 10, 21)),
    ),
)  # fmt: skip


def _seed(url: str) -> None:
    """The organisation the simulation will find, with its bodies set up before day one."""
    upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with unit_of_work(sessions) as s:
        org = ensure_organisation(s, slug="simulation", name="Stadt Simulationshausen")
        import_catalogue(session=s, organisation_id=org.id, path=EXAMPLES / "catalogue.csv")
        for name, kind, scope, cadence, fields, members, meetings in BODIES:
            body = Body(
                organisation_id=org.id, name=name, kind=kind, scope=scope, digest_cadence=cadence
            )
            s.add(body)
            s.flush()
            for code in fields:
                field = s.scalars(select(Field).where(Field.code == code)).one()
                s.add(BodyField(body_id=body.id, field_id=field.id))
            for email, lang in members:
                s.add(BodyMember(body_id=body.id, name=email, email=email, language=lang))
            for day in meetings:
                meeting = Meeting(body_id=body.id, held_on=day, title=f"Sitzung {name}")
                s.add(meeting)
                s.flush()
                s.add(AgendaItem(meeting_id=meeting.id, position=1, title="Bericht zum Sachstand"))
    engine.dispose()


def _items(digest: dict[str, Any]) -> frozenset[tuple[str, ...]]:
    """What a digest tells, each item with its condition (open at a level, or how it ended),
    and the meeting it prepares with its agenda: that is news for a member even when no
    item is (a meeting always gets its digest), whereas a regular period must bring news."""
    out: set[tuple[str, ...]] = set()
    for section in ("new_items", "still_open"):
        out |= {("measure", i["code"], i["level_label"]) for i in digest[section]}
    out |= {("measure", i["code"], i["resolution"]) for i in digest["resolved_items"]}
    for i in digest.get("indicators", []):
        out.add(("indicator", i["code"], i["period_label"], i["resolution"] or i["level_label"]))
    for d in digest.get("decisions", []):
        out.add(("decision", d["text"], d["resolution"] or d["level_label"]))
    for c in digest.get("status_checks", []):
        out.add(("status_check", c["line"], c["resolution"] or c["level_label"]))
    if digest.get("meeting"):
        out.add(("meeting", digest["meeting"]["date"], *digest["meeting"]["agenda"]))
    return frozenset(out)


def prefetch_simulation(folder: Path, tests: set[str]) -> Background:
    """The simulated year (``_seed``, then 365 days), started in a child process as soon as
    this module is collected (tests/simulated_year.py), so it runs beside earlier tests."""
    return Background(
        folder,
        database_url=f"sqlite:///{folder / 'year.sqlite3'}",
        prepare="tests.test_digest_repeats:_seed",
        start=START.isoformat(),
        days=365,
        seed=7,
        indicators=True,
    )


def test_at_most_a_tenth_of_digests_repeat_the_previous_one(
    prefetched: Background | None,
) -> None:
    assert prefetched is not None
    summary = prefetched.summary()
    url = prefetched.database_url
    assert summary["render_failures"] == 0
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        rows = s.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "digest").order_by(OutboxMessage.id)
        ).all()
        sent = [(r.recipient_email, r.context["body_id"], r.language, r.context) for r in rows]
        statuses = Counter(r.status for r in rows)
    engine.dispose()
    previous: dict[tuple[str, int], frozenset[tuple[str, ...]]] = {}
    repeats, meetings, regular_without_news = 0, 0, 0
    for email, body_id, _, context in sent:
        digest = context["digest"]
        items = _items(digest)
        repeats += previous.get((email, body_id)) == items
        previous[(email, body_id)] = items
        if digest.get("meeting") is not None:
            meetings += 1
        elif not (digest["totals"]["new"] or digest["totals"]["resolved"]):
            regular_without_news += 1
    assert repeats <= len(sent) / 10, (repeats, len(sent))
    assert regular_without_news == 0
    # Every body was heard from, in both languages, before every meeting; all went out.
    by_body = Counter(body_id for _, body_id, _, _ in sent)
    assert len(by_body) == len(BODIES), by_body
    assert {lang for _, _, lang, _ in sent} == {"de", "en"}
    assert meetings == sum(len(b[5]) * len(b[6]) for b in BODIES)
    assert statuses == {"sent": len(sent)}
