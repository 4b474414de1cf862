"""Organisation settings without SQL: the rules, the CLI, the API, the page, and where they show.

Real databases (both), real subprocesses for the CLI, a real SMTP server for the headers.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from notifications.sender import send_pending
from notifications.sink import CapturingHandler
from tests.conftest import make_runtime
from tests.dashboard_seed import Seed, bearer, csrf_headers, login, seed
from workflow import runtime
from workflow.accounts import Role
from workflow.catalogue.models import DEFAULT_OFFICE_NAME, Organisation
from workflow.catalogue.service import ensure_organisation
from workflow.clock import FrozenClock
from workflow.cycles.service import record_interview
from workflow.db import unit_of_work
from workflow.organisation_settings import (
    FIELDS,
    KINDS,
    LAENDER,
    SettingsInvalid,
    check,
    update_settings,
)
from workflow.reports.build import build_report
from workflow.runtime import Runtime

# Every rule's code, as workflow/organisation_settings.py and workflow/catalogue/heads.py name them.
ERROR_CODES = (
    "required",
    "too_long",
    "control_character",
    "unknown_kind",
    "invalid_email",
    "unknown_state",
    "unknown_timezone",
    "unknown_setting",
    "unknown_unit_term",
    "unknown_council_term",
    "unknown_choice",
)
HEAD_CODES = (
    "email_required",
    "invalid_email",
    "too_long",
    "control_character",
    "other_department",
    "unknown_salutation",
)
GOOD = {
    "name": "Kreis Lindenau",
    "kind": "District",
    "office_name": "Stabsstelle Integration & Vielfalt",
    "office_address": " Kreishaus \r\n\r\nAm Markt 3\n51465 Lindenau ",
    "contact_email": "Integration@Kreis-Lindenau.example.org",
    "state": "ni",
    "timezone": "Europe/Berlin",
}


# -- the rules ------------------------------------------------------------------------------


def test_good_values_are_normalised() -> None:
    assert check(GOOD) == {
        "name": "Kreis Lindenau",
        "kind": "district",
        "office_name": "Stabsstelle Integration & Vielfalt",
        "office_address": "Kreishaus\nAm Markt 3\n51465 Lindenau",
        "contact_email": "integration@kreis-lindenau.example.org",
        "state": "NI",
        "timezone": "Europe/Berlin",
    }
    # An empty contact address is allowed (no Reply-To); None leaves a setting as it is.
    assert check({"contact_email": "", "name": None}) == {"contact_email": ""}


@pytest.mark.parametrize(
    ("setting", "value", "code"),
    [
        ("name", "  ", "required"),
        ("office_name", "", "required"),
        ("name", "x" * 201, "too_long"),
        ("office_address", "x" * 501, "too_long"),
        ("kind", "state", "unknown_kind"),
        ("kind", "Großstadt", "unknown_kind"),
        ("contact_email", "integration@", "invalid_email"),
        ("contact_email", "a b@example.org", "invalid_email"),
        ("state", "XX", "unknown_state"),
        ("state", "Bayern", "unknown_state"),
        ("timezone", "Mars/Olympus_Mons", "unknown_timezone"),
        ("timezone", "../../etc/passwd", "unknown_timezone"),
        ("timezone", "", "unknown_timezone"),
        ("name", "Stadt\nMusterstadt", "control_character"),
        ("office_address", "Am Markt 3\x00", "control_character"),
        ("slug", "neu", "unknown_setting"),
        ("unit_term", "", "unknown_unit_term"),
        ("unit_term", "Abteilung", "unknown_unit_term"),
        ("council_term", "Bundestag", "unknown_council_term"),
        ("shares_with_district", "vielleicht", "unknown_choice"),
    ],
)
def test_each_bad_value_is_named_with_its_rule(setting: str, value: str, code: str) -> None:
    with pytest.raises(SettingsInvalid) as refused:
        check({setting: value})
    assert [(p.setting, p.code) for p in refused.value.problems] == [(setting, code)]


def test_all_or_nothing_on_the_database(rt: Runtime) -> None:
    with unit_of_work(rt.sessions) as session:
        org_id = ensure_organisation(session, slug="lindenau", name="Stadt Lindenau").id
    with pytest.raises(SettingsInvalid) as refused, unit_of_work(rt.sessions) as session:
        update_settings(
            session=session,
            organisation_id=org_id,
            changes={"office_name": "Integrationsbüro", "timezone": "Berlin", "state": "XY"},
        )
    assert {p.setting for p in refused.value.problems} == {"timezone", "state"}
    with rt.sessions() as session:
        org = session.get(Organisation, org_id)
        assert org is not None
        # New rows get the office every email used to name; no Reply-To until one is set.
        assert (org.office_name, org.office_address, org.contact_email) == (
            DEFAULT_OFFICE_NAME,
            "",
            "",
        )
    with unit_of_work(rt.sessions) as session:
        update_settings(session=session, organisation_id=org_id, changes=GOOD)
    with rt.sessions() as session:
        org = session.get(Organisation, org_id)
        assert org is not None
        assert (org.kind, org.state, org.office_address) == (
            "district",
            "NI",
            "Kreishaus\nAm Markt 3\n51465 Lindenau",
        )


# -- the command line -----------------------------------------------------------------------


def _zielflow(tmp_path: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZIELFLOW_")}
    env |= {"ZIELFLOW_VAR_DIR": str(tmp_path / "var"), "ZIELFLOW_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "workflow.cli", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_org_set_and_show_from_the_shell(database_url: str, tmp_path: Path) -> None:
    nothing = _zielflow(tmp_path, database_url, "org", "show")
    assert nothing.returncode == 1 and len(nothing.stderr.strip().splitlines()) == 1
    assert "Traceback" not in nothing.stderr

    done = _zielflow(
        tmp_path,
        database_url,
        "org",
        "set",
        "--name",
        "Stadt Lindenau",
        "--kind",
        "city",
        "--office-name",
        "Integrationsbüro",
        "--office-address",
        "Rathausplatz 1\n51465 Lindenau",
        "--contact-email",
        "integration@lindenau.example.org",
        "--state",
        "BY",
        "--timezone",
        "Europe/Berlin",
    )
    assert done.returncode == 0, done.stderr
    for shown in (
        "Name der Organisation: Stadt Lindenau",
        "Art der Gebietskörperschaft: Kreisfreie Stadt (city)",
        "Name der Stelle: Integrationsbüro",
        "Postanschrift der Stelle: Rathausplatz 1, 51465 Lindenau",
        "Kontaktadresse für Antworten: integration@lindenau.example.org",
        "Land: Bayern (BY)",
        "Zeitzone: Europe/Berlin",
    ):
        assert shown in done.stdout, done.stdout

    bad = _zielflow(
        tmp_path, database_url, "org", "set", "--timezone", "Europa/Berlin", "--state", "XX"
    )
    assert bad.returncode == 1 and bad.stdout == ""
    (line,) = bad.stderr.strip().splitlines()
    assert "Zeitzone: „Europa/Berlin“ ist keine bekannte Zeitzone" in line
    assert "Land: „XX“ ist kein Länderkürzel" in line

    again = _zielflow(tmp_path, database_url, "org", "show")
    assert again.returncode == 0 and "Land: Bayern (BY)" in again.stdout  # nothing changed
    cleared = _zielflow(tmp_path, database_url, "org", "set", "--contact-email", "")
    assert "Kontaktadresse für Antworten: keine Angabe" in cleared.stdout
    empty = _zielflow(tmp_path, database_url, "org", "set")
    assert empty.returncode == 1 and "--office-name" in empty.stderr


# -- the JSON API -------------------------------------------------------------------------------


@pytest.fixture
def seeded(rt: Runtime) -> Iterator[tuple[TestClient, Seed]]:
    s = seed(rt)
    yield TestClient(create_app()), s


def test_api_reads_for_everyone_and_changes_for_coordinators(
    seeded: tuple[TestClient, Seed],
) -> None:
    client, s = seeded
    read = client.get("/api/v1/organisation", headers=bearer(s, Role.STEERING))
    assert read.status_code == 200
    assert read.json()["office_name"] == DEFAULT_OFFICE_NAME
    assert read.json()["slug"] == "musterstadt"

    refused = client.patch(
        "/api/v1/organisation", json={"office_name": "X"}, headers=bearer(s, Role.STEERING)
    )
    assert refused.status_code == 403

    changed = client.patch(
        "/api/v1/organisation",
        json={"office_name": "Integrationsbüro", "state": "he"},
        headers=bearer(s, Role.COORDINATOR),
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["office_name"], changed.json()["state"]) == ("Integrationsbüro", "HE")
    assert changed.json()["name"] == read.json()["name"]  # left out, left alone

    bad = client.patch(
        "/api/v1/organisation",
        json={"timezone": "Mond/Mare", "contact_email": "nobody"},
        headers=bearer(s, Role.COORDINATOR),
    )
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert error["code"] == "invalid_settings"
    assert {(e["field"], e["code"]) for e in error["details"]["errors"]} == {
        ("timezone", "unknown_timezone"),
        ("contact_email", "invalid_email"),
    }
    assert "Mond/Mare" in error["message"]
    unknown = client.patch(
        "/api/v1/organisation", json={"slug": "neu"}, headers=bearer(s, Role.COORDINATOR)
    )
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "validation_error"
    after = client.get("/api/v1/organisation", headers=bearer(s, Role.COORDINATOR)).json()
    assert (after["timezone"], after["contact_email"], after["slug"]) == (
        "Europe/Berlin",
        "",
        "musterstadt",
    )


# -- the page -------------------------------------------------------------------------------------


def test_page_edits_for_coordinators_and_shows_for_steering(
    seeded: tuple[TestClient, Seed],
) -> None:
    client, _ = seeded
    login(client, Role.COORDINATOR)
    form = client.get("/organisation")
    assert form.status_code == 200
    assert 'action="/organisation"' in form.text and "Koordinierungsstelle Integration" in form.text
    assert 'href="/organisation"' in form.text  # in the navigation

    fields = dict(GOOD, kind="district", state="NI")
    no_csrf = client.post("/organisation", data=fields, follow_redirects=False)
    assert no_csrf.status_code == 403

    bad = client.post(
        "/organisation",
        data=dict(fields, timezone="Berlin", office_name=""),
        headers=csrf_headers(client),
    )
    assert bad.status_code == 422
    assert "„Berlin“ ist keine bekannte Zeitzone" in bad.text
    assert "Name der Stelle: Bitte geben Sie einen Wert an." in bad.text
    assert 'value="Kreis Lindenau"' in bad.text  # what was typed stays
    assert client.get("/api/v1/organisation").json()["name"] == "musterstadt"  # as seeded

    saved = client.post(
        "/organisation", data=fields, headers=csrf_headers(client), follow_redirects=False
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/organisation"
    page = client.get("/organisation").text
    assert "Die Einstellungen der Organisation sind gespeichert." in page
    assert client.get("/api/v1/organisation").json()["office_name"] == GOOD["office_name"]

    steering = TestClient(create_app())
    login(steering, Role.STEERING)
    view = steering.get("/organisation")
    assert view.status_code == 200
    assert 'action="/organisation"' not in view.text
    assert "Stabsstelle Integration &amp; Vielfalt" in view.text and "Niedersachsen" in view.text
    assert (
        steering.post("/organisation", data=fields, headers=csrf_headers(steering)).status_code
        == 403
    )

    english = client.get("/organisation?lang=en").text
    assert "Name of the office" in english and "Lower Saxony" in english


# -- where the settings show: email headers and footer, the reports -----------------------------


@pytest.fixture
def mail_rt(
    database_url: str, clock: FrozenClock, tmp_path: Path, smtp_sink: tuple[int, CapturingHandler]
) -> Iterator[Runtime]:
    port, _ = smtp_sink
    rt = make_runtime(
        database_url, clock, tmp_path, smtp_port=port, mail_from="zielflow@stadt.example.org"
    )
    yield rt
    runtime.install(None)
    rt.dispose()


def _invite(rt: Runtime, s: Seed, item: int) -> None:
    with unit_of_work(rt.sessions) as session:
        record_interview(
            session=session,
            clock=rt.clock,
            measure_cycle_id=item,
            expected_version=None,
            actor="test",
            decision="keep",
        )


def _part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body(preferencelist=(subtype,))
    assert body is not None
    return str(body.get_content())


def test_emails_come_from_the_office_and_replies_go_to_its_address(
    mail_rt: Runtime, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    _, sink = smtp_sink
    s = seed(mail_rt)
    _invite(mail_rt, s, s.item_ids[0])
    assert send_pending(mail_rt).emails_sent == 1
    plain = sink.messages[-1]
    assert plain["From"].addresses[0].display_name == DEFAULT_OFFICE_NAME
    assert plain["From"].addresses[0].addr_spec == "zielflow@stadt.example.org"
    assert plain["Reply-To"] is None  # no contact address set: no Reply-To

    with unit_of_work(mail_rt.sessions) as session:
        update_settings(session=session, organisation_id=s.organisation_id, changes=GOOD)
    _invite(mail_rt, s, s.item_ids[5])
    assert send_pending(mail_rt).emails_sent == 1
    message = sink.messages[-1]
    sender = message["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == (
        "Stabsstelle Integration & Vielfalt",
        "zielflow@stadt.example.org",
    )
    (reply_to,) = message["Reply-To"].addresses
    assert reply_to.addr_spec == "integration@kreis-lindenau.example.org"
    text = _part(message, "plain").replace("\r\n", "\n")
    assert (
        "Kreis Lindenau · Stabsstelle Integration & Vielfalt · Fragen an: "
        "integration@kreis-lindenau.example.org\nKreishaus, Am Markt 3, 51465 Lindenau" in text
    )
    html = _part(message, "html")
    assert "Stabsstelle Integration &amp; Vielfalt" in html
    assert "Koordinierungsstelle Integration" not in text + html


def test_reports_name_the_office_and_its_address(rt: Runtime) -> None:
    s = seed(rt)
    with unit_of_work(rt.sessions) as session:
        update_settings(session=session, organisation_id=s.organisation_id, changes=GOOD)
    with rt.sessions() as session:
        report = build_report(
            session, organisation_id=s.organisation_id, kind="status-quo", year=2026, fmt="html"
        )
    html = report.content.decode("utf-8")
    assert (
        '<p class="office">Stabsstelle Integration &amp; Vielfalt<br>Kreishaus<br>Am Markt 3'
        in html
    )


def test_every_text_of_these_pages_exists_in_german_and_english() -> None:
    root = Path(__file__).resolve().parents[1]
    de = json.loads((root / "api/locales/organisation.de.json").read_text(encoding="utf-8"))
    en = json.loads((root / "api/locales/organisation.en.json").read_text(encoding="utf-8"))
    assert set(de) == set(en)
    used: set[str] = set()
    for name in ("organisation.html", "head.html", "outbox.html", "departments.html"):
        text = (root / "api/pages/dashboard" / name).read_text(encoding="utf-8")
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_.0-9]+)["']""", text))
    used = {k for k in used if not k.endswith(".")}  # prefixes completed at run time
    used |= {f"org.{part}.{name}" for part in ("field", "hint") for name in FIELDS}
    used |= {f"org.kind.{k}" for k in KINDS} | {f"org.state.{s}" for s in LAENDER}
    used |= {f"org.error.{code}" for code in ERROR_CODES} | {"org.saved", "org.none"}
    used |= {f"heads.error.{c}" for c in HEAD_CODES} | {"heads.saved", "heads.removed"}
    assert len(used) > 60 and not (used - set(de)), sorted(used - set(de))
    # The codes above are all the rules raise (a new rule needs its sentence).
    for source, codes in (
        ("workflow/organisation_settings.py", ERROR_CODES),
        ("workflow/catalogue/heads.py", HEAD_CODES),
    ):
        text = (root / source).read_text(encoding="utf-8")
        raised = set(re.findall(r'Problem\(\s*[a-z_"]+,\s*"([a-z_]+)"', text))
        assert raised and raised <= set(codes), (source, raised - set(codes))
    for key in used:
        assert (
            de[key] != en[key]
            or key.startswith("org.state.")
            or de[key]
            in {
                "Organisation",
                "Name",
            }
        ), key
