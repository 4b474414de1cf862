"""``zielflow body …``, ``zielflow member …`` and the open-cycle warnings, on both databases.

The commands run in-process against the test's runtime (typer's runner), so the same rules
are checked on SQLite and PostgreSQL; tests/test_cli.py covers the real subprocess.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from tests import factories
from tests.conftest import EXAMPLES
from tests.test_cli import _zielflow
from workflow.bodies.models import Body, BodyMember
from workflow.catalogue.models import Contact
from workflow.cli import app
from workflow.db import unit_of_work
from workflow.runtime import Runtime


def zielflow(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def org(rt: Runtime) -> str:
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s, slug="teststadt")
        factories.measures(s, org, 2)
    return "teststadt"


def _ok(result: Result) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def _refused(result: Result) -> str:
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines  # one German line, no traceback
    return lines[0]


def test_body_add_list_member_add_and_end(rt: Runtime, org: str) -> None:
    out = _ok(zielflow("body", "add", "Steuerungsgruppe Integration", "--kind", "Steuerungsgruppe"))
    assert (
        out.strip()
        == "Gremium „Steuerungsgruppe Integration“ (Steuerungsgruppe) angelegt, Nummer 1."
    )
    _ok(zielflow("body", "add", "Begleitgremium", "--kind", "advisory_board", "--meetings", "5"))
    _ok(
        zielflow(
            "member", "add", "steuerungsgruppe integration", "Sommer@Stadt.Example.org",
            "--name", "Dr. Henrike Sommer", "--represents", "Verwaltung", "--role", "Vorsitz",
        )
    )  # fmt: skip
    out = _ok(
        zielflow(
            "member", "add", "1", "yilmaz@stadt.example.org", "--name", "Murat Yilmaz",
            "--represents", "council_group", "--represents-name", "SPD-Fraktion",
            "--role", "deputy", "--deputy-of", "sommer@stadt.example.org", "--language", "en",
            "--from", "2026-01-15",
        )
    )  # fmt: skip
    assert "ab 15.01.2026" in out
    listed = _ok(zielflow("body", "list"))
    assert listed.splitlines() == [
        "2  Begleitgremium (Begleitgremium), 0 Mitglieder",
        "1  Steuerungsgruppe Integration (Steuerungsgruppe), 2 Mitglieder",
    ]
    out = _ok(zielflow("member", "end", "Steuerungsgruppe Integration", "YILMAZ@stadt.example.org"))
    assert out.strip() == (
        "Die Mitgliedschaft von yilmaz@stadt.example.org im Gremium „Steuerungsgruppe "
        "Integration“ endet zum 02.03.2026."
    )
    history = _ok(zielflow("member", "list", "1", "--history"))
    assert (
        "Murat Yilmaz <yilmaz@stadt.example.org>, Stellvertretung, Ratsfraktion: SPD-Fraktion"
        in history
    )
    assert "ausgeschieden zum 02.03.2026" in history
    with rt.sessions() as s:
        body = s.scalars(select(Body).where(Body.name == "Begleitgremium")).one()
        assert (body.kind, body.meetings_per_year, body.digest_cadence) == (
            "advisory_board",
            5,
            "monthly",
        )
        members = s.scalars(select(BodyMember).order_by(BodyMember.id)).all()
        got = [(m.email, m.role, m.represents, m.language) for m in members]
        assert got == [
            ("sommer@stadt.example.org", "chair", "administration", "de"),
            ("yilmaz@stadt.example.org", "deputy", "council_group", "en"),
        ]
        assert [(m.joined_on, m.left_on) for m in members] == [
            (date(2026, 3, 2), None),
            (date(2026, 1, 15), date(2026, 3, 2)),
        ]


ADD = ("member", "add", "Steuerungsgruppe")
NEWCOMER = (*ADD, "a@b.example.org", "--name", "A")
REFUSALS = [
    (
        ("body", "add", "Gruppe", "--kind", "Stammtisch"),
        "„Stammtisch“ ist keine vorgesehene Art von Gremium. Möglich sind: steering_group "
        "(Steuerungsgruppe), advisory_board (Begleitgremium)",
    ),
    (
        ("body", "add", "steuerungsgruppe", "--kind", "other"),
        "Ein Gremium mit dem Namen „steuerungsgruppe“ gibt es schon.",
    ),
    (("body", "add", "Gruppe", "--kind", "other", "--meetings", "60"), "zwischen 0 und 52"),
    (
        ("member", "add", "Lenkungsgruppe", "a@b.example.org", "--name", "A"),
        "Das Gremium „Lenkungsgruppe“ gibt es nicht.",
    ),
    (("member", "add", "99", "a@b.example.org", "--name", "A"), "Das Gremium „99“ gibt es nicht."),
    (
        (*ADD, "keine-adresse", "--name", "A"),
        "„keine-adresse“ ist keine gültige E-Mail-Adresse.",
    ),
    ((*NEWCOMER, "--role", "deputy"), "Bitte geben Sie an, wen die Stellvertretung vertritt."),
    ((*NEWCOMER, "--represents", "Herkunft"), "„Herkunft“ ist keine vorgesehene Angabe"),
    ((*NEWCOMER, "--from", "morgen"), "--from 'morgen' ist kein Datum (JJJJ-MM-TT)."),
    (
        (*ADD, "sommer@stadt.example.org", "--name", "A"),
        "sommer@stadt.example.org ist bereits Mitglied im Gremium „Steuerungsgruppe“.",
    ),
    (
        ("member", "end", "Steuerungsgruppe", "niemand@stadt.example.org"),
        "Im Gremium „Steuerungsgruppe“ gibt es kein Mitglied niemand@stadt.example.org.",
    ),
    (
        ("member", "end", "Steuerungsgruppe", "sommer@stadt.example.org", "--on", "2020-01-01"),
        "Eine Mitgliedschaft kann nicht vor ihrem Beginn am 02.03.2026 enden "
        "(angegeben: 01.01.2020).",
    ),
]


@pytest.mark.parametrize(("args", "message"), REFUSALS)
def test_every_refusal_is_one_german_line_and_exit_1(
    rt: Runtime, org: str, args: tuple[str, ...], message: str
) -> None:
    _ok(zielflow("body", "add", "Steuerungsgruppe", "--kind", "steering_group"))
    _ok(zielflow("member", "add", "Steuerungsgruppe", "sommer@stadt.example.org", "--name", "S"))
    with rt.sessions() as s:
        before = (len(s.scalars(select(Body)).all()), len(s.scalars(select(BodyMember)).all()))
    line = _refused(zielflow(*args))
    assert message in line, line
    with rt.sessions() as s:  # nothing was written
        after = (len(s.scalars(select(Body)).all()), len(s.scalars(select(BodyMember)).all()))
    assert after == before


def test_open_cycle_names_what_keeps_escalations_from_anyone(rt: Runtime) -> None:
    with unit_of_work(rt.sessions) as s:
        org = factories.organisation(s, slug="teststadt")
        factories.measures(s, org, 2)  # with a head
        factories.measures(s, org, 1, prefix="Q")  # its head is removed below
        for head in s.scalars(select(Contact).where(Contact.email == "qleitung@stadt.example.org")):
            head.is_head = False
    result = zielflow("open-cycle", "2026")
    assert result.exit_code == 0, result.stderr
    assert "Zyklus 2026: 3 neu eröffnet" in result.stdout
    assert result.stderr.splitlines() == [
        "Hinweis: Für „Q Amt für Schule“ ist keine Leitung eingetragen: Meldungen an die Leitung "
        "werden nur vermerkt.",
        "Hinweis: Es gibt keine Steuerungsgruppe: Überfällige Maßnahmen können an niemanden "
        "weitergeleitet werden.",
    ]
    _ok(zielflow("body", "add", "Steuerungsgruppe", "--kind", "Steuerungsgruppe"))
    again = zielflow("open-cycle", "2026")
    assert again.stderr.splitlines()[1:] == [
        "Hinweis: Das Gremium „Steuerungsgruppe“ hat keine aktuellen Mitglieder."
    ]
    _ok(zielflow("member", "add", "Steuerungsgruppe", "s@stadt.example.org", "--name", "S"))
    assert len(zielflow("open-cycle", "2026").stderr.splitlines()) == 1


def test_the_installed_command_sets_up_a_body_from_nothing(tmp_path: Path) -> None:
    assert _zielflow(tmp_path, "db", "upgrade").returncode == 0
    no_org = _zielflow(tmp_path, "body", "add", "Steuerungsgruppe", "--kind", "Steuerungsgruppe")
    assert no_org.returncode == 1 and len(no_org.stderr.strip().splitlines()) == 1
    assert "Traceback" not in no_org.stderr
    assert _zielflow(tmp_path, "import-catalogue", str(EXAMPLES / "catalogue.csv")).returncode == 0
    opened = _zielflow(tmp_path, "open-cycle", "2026", "--confirm")
    assert "Hinweis: Es gibt keine Steuerungsgruppe" in opened.stderr
    added = _zielflow(tmp_path, "body", "add", "Steuerungsgruppe", "--kind", "Steuerungsgruppe")
    assert added.returncode == 0, added.stderr
    member = _zielflow(
        tmp_path, "member", "add", "Steuerungsgruppe", "sommer@stadt.example.org", "--name", "S"
    )
    assert member.returncode == 0, member.stderr
    bad = _zielflow(tmp_path, "member", "add", "Steuerungsgruppe", "x@y.example.org", "--name", "X",
                    "--role", "Chef")  # fmt: skip
    assert bad.returncode == 1
    assert bad.stderr.strip().startswith("„Chef“ ist keine vorgesehene Rolle.")
    assert (
        "1  Steuerungsgruppe (Steuerungsgruppe), 1 Mitglied"
        in _zielflow(tmp_path, "body", "list").stdout
    )
