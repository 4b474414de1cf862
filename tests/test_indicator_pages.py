"""The indicator pages of the dashboard (``/kennzahlen``) and the message keys of the indicator
feature: every key used exists in German and English."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.dashboard.indicators import SPARK_HEIGHT, SPARK_WIDTH, sparkline
from notifications.models import OutboxMessage
from tests.conftest import BERLIN, EXAMPLES
from tests.dashboard_seed import Seed, csrf_headers, login, seed
from workflow.accounts import Role
from workflow.clock import FrozenClock
from workflow.db import unit_of_work
from workflow.indicators.importer import import_indicators
from workflow.indicators.models import DataRequest, Indicator
from workflow.indicators.service import record_value
from workflow.indicators.validation import Entry
from workflow.runtime import Runtime
from workflow.sweep import run_sweep

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "api" / "locales"


def _world(rt: Runtime, clock: FrozenClock) -> Seed:
    """The example catalogue and indicators on 10 February 2026, with the February requests open
    and one value far from its series."""
    clock.set(datetime(2026, 2, 10, 10, 0, tzinfo=BERLIN))
    s = seed(rt)
    with unit_of_work(rt.sessions) as session:
        import_indicators(
            session=session,
            organisation_id=s.organisation_id,
            path=EXAMPLES / "indicators.csv",
            now=clock.now(),
            today=date(2026, 2, 10),
        )
        c_k2 = session.scalars(select(Indicator).where(Indicator.code == "C-K2")).one()
        record_value(
            session,
            indicator=c_k2,
            survey_date=date(2026, 1, 31),
            entry=Entry("", value=60.0),
            comment="",
            actor="test",
            actor_name="Test",
            now=clock.now(),
        )
    run_sweep(sessions=rt.sessions, clock=clock)
    return s


def test_the_indicator_page_shows_values_trends_and_open_requests(
    rt: Runtime, clock: FrozenClock
) -> None:
    _world(rt, clock)
    with rt.sessions() as session:
        open_codes = sorted(
            r.indicator.code
            for r in session.scalars(select(DataRequest)).unique()
            if r.status == "open"
        )
    assert open_codes == ["B-K1", "B-K2"]  # due 15 February: opened 28 days before

    steering = TestClient(create_app())
    login(steering, Role.STEERING)
    page = steering.get("/kennzahlen")
    assert page.status_code == 200
    html = page.text
    assert html.count('<svg class="spark"') >= 9  # every series with two or more values
    assert "24,0 %" in html and "steigend" in html and "auf Kurs" in html
    assert "Offene Datenanfragen: 2" in html and "Lena Hoffmann" in html
    assert "prüfen" in html  # C-K2's last value is far from its series
    assert "Jetzt erinnern" not in html  # steering reads, never acts
    english = steering.get("/kennzahlen?lang=en").text
    assert "Indicators" in english and "rising" in english and "on track" in english

    with rt.sessions() as session:
        b_k1 = session.scalars(select(Indicator).where(Indicator.code == "B-K1")).one()
        request_id = session.scalars(
            select(DataRequest.id).where(DataRequest.indicator_id == b_k1.id)
        ).one()
    detail = steering.get(f"/kennzahlen/{b_k1.id}")
    assert detail.status_code == 200
    assert "Bensberg" in detail.text and "27,5 %" in detail.text and "offen" in detail.text
    assert steering.get("/kennzahlen/999999").status_code == 404

    coordinator = TestClient(create_app())
    login(coordinator, Role.COORDINATOR)
    assert "Jetzt erinnern" in coordinator.get("/kennzahlen").text
    for expected in ("wird in Kürze versandt.", "bereits eine Erinnerung"):
        reminded = coordinator.post(
            f"/kennzahlen/anfragen/{request_id}/erinnern",
            headers=csrf_headers(coordinator),
            follow_redirects=True,
        )
        assert reminded.status_code == 200 and expected in reminded.text
    refused = steering.post(
        f"/kennzahlen/anfragen/{request_id}/erinnern", headers=csrf_headers(steering)
    )
    assert refused.status_code == 403
    with rt.sessions() as session:
        manual = session.scalars(
            select(OutboxMessage.kind).where(OutboxMessage.dedupe_key.like("%:manual:%"))
        ).all()
    assert manual == ["data_reminder"]


def test_sparkline_fits_the_box_and_rings_flagged_values() -> None:
    assert sparkline([(1.0, False)], "x") is None
    line = sparkline([(10.0, False), (12.0, False), (11.0, True), (30.0, False)], "Verlauf")
    assert line is not None
    points = [tuple(map(float, p.split(","))) for p in line.points.split()]
    assert len(points) == 4
    assert all(0 <= x <= SPARK_WIDTH and 0 <= y <= SPARK_HEIGHT for x, y in points)
    assert points[0][1] > points[3][1]  # higher values are drawn higher up
    assert line.flagged == (points[2],) and line.last == points[3]
    flat = sparkline([(5.0, False), (5.0, False)], "flach")
    assert flat is not None and len({p.split(",")[1] for p in flat.points.split()}) == 1


def _keys(pattern: str, paths: list[Path]) -> set[str]:
    found: set[str] = set()
    for path in paths:
        found |= set(re.findall(pattern, path.read_text(encoding="utf-8")))
    return found


def test_every_indicator_message_key_exists_in_both_languages() -> None:
    de = json.loads((LOCALES / "indicators.de.json").read_text(encoding="utf-8"))
    en = json.loads((LOCALES / "indicators.en.json").read_text(encoding="utf-8"))
    assert de.keys() == en.keys()
    sources = [
        *ROOT.glob("api/pages/dashboard/indicator*.html"),
        ROOT / "api/pages/dashboard/_indicators_spark.html",
        *ROOT.glob("api/pages/forms/data_delivery*.html"),
        ROOT / "api/dashboard/indicators.py",
        ROOT / "api/forms/data_delivery.py",
        *ROOT.glob("workflow/indicators/*.py"),
    ]
    used = _keys(r"[\"']((?:ind|data)\.[a-z_.0-9]+[a-z0-9])[\"']", sources)
    used = {k for k in used if not k.endswith(".")}
    dynamic = {"ind.direction", "ind.trend", "ind.level", "ind.request_status"}
    used -= dynamic
    used |= {f"ind.direction.{d}" for d in ("up", "down", "target")}
    used |= {f"ind.trend.{t}" for t in ("steigend", "fallend", "gleichbleibend", "unklar")}
    used |= {f"ind.level.{n}" for n in (1, 2)}
    used |= {f"ind.request_status.{s}" for s in ("open", "delivered", "cancelled")}
    assert len(used) > 80
    plurals = {k.rsplit(".", 1)[0] for k in de if k.endswith((".one", ".other"))}  # via _n
    assert sorted(used - set(de) - plurals) == []
    # The data form reuses a few keys of the department forms; those must exist there.
    forms = json.loads((LOCALES / "forms.de.json").read_text(encoding="utf-8"))
    reused = _keys(
        r"_\(\"(forms\.[a-z_.]+)\"", list(ROOT.glob("api/pages/forms/data_delivery*.html"))
    )
    assert reused and reused <= set(forms)
