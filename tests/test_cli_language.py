"""The command line speaks one language: German by default, English with ``--lang en``.

``--help`` of every command is walked in a real subprocess (the language is chosen before the
command tree is built, as the ``zielflow`` entry point does); summaries run in-process on
SQLite; the CLI catalogue is checked against the forbidden words and for matching keys.
"""

from __future__ import annotations

import json
import re
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests import factories
from tests.conftest import EXAMPLES
from tests.test_cli import _env
from tests.wording import offences
from workflow import cli_help, cli_lang
from workflow.cli import app, lang_first
from workflow.db import unit_of_work
from workflow.runtime import Runtime

LOCALES = Path(__file__).resolve().parents[1] / "workflow" / "locales"

# Prints {"zielflow db upgrade": "<help text>", …} for every command and group of the tree.
_WALK = """
import json, sys
from typer.main import get_command
from typer.testing import CliRunner
from workflow.cli import app, lang_first

def walk(command, path):
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from walk(sub, [*path, name])

args, only = sys.argv[1:], set(json.loads(sys.stdin.read() or "[]"))
runner = CliRunner()
pages = {}
for path in walk(get_command(app), []):
    if only and " ".join(path) not in only:
        continue
    result = runner.invoke(app, [*args, *path, "--help"])
    pages[" ".join(["zielflow", *path])] = result.output
print(json.dumps(pages))
"""
# Sentences of the old mixed help, and Typer's own frame, that must not show in German.
ENGLISH = re.compile(
    r"\b(Apply|Show|Create|Run|Print|Import|Export|Write|Serve|List|Plan|Add|End|Change|"
    r"Start|Switch|Everything|Usage|Options|Commands|Arguments|required|default|the|and|or)\b"
)
GERMAN = re.compile(
    r"\b(der|die|das|und|oder|Maßnahme\w*|Gremi\w*|Datenbank|Organisation|Zyklus|"
    r"Aufruf|Optionen|Befehle|JJJJ-MM-TT)\b"
)


def _help_pages(tmp_path: Path, *args: str, only: tuple[str, ...] = ()) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", _WALK, *args],
        input=json.dumps(list(only)),
        env=_env(tmp_path, TERMINAL_WIDTH="200"),  # one line per sentence
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    pages: dict[str, str] = json.loads(done.stdout)
    return pages


def _ok(result: Result) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


@pytest.fixture(autouse=True)
def _german_again() -> Iterator[None]:
    """An in-process ``--lang en`` must not leak into the next test of this process."""
    yield
    cli_lang.set_language(cli_lang.DEFAULT)
    cli_help.localise_help()


def test_every_help_page_is_german_by_default(tmp_path: Path) -> None:
    pages = _help_pages(tmp_path)
    assert len(pages) > 25  # the whole tree: groups and commands
    for command, page in pages.items():
        assert "Aufruf:" in page and "Diese Hilfe zeigen und beenden." in page, command
        assert ENGLISH.findall(page) == [], (command, page)
        assert offences(page) == [], (command, offences(page))
    assert "Einen Maßnahmenkatalog (CSV oder XLSX) einlesen" in pages["zielflow import-catalogue"]
    assert "Kürzel der Organisation" in pages["zielflow org set"]


def test_every_help_page_is_english_with_lang_en(tmp_path: Path) -> None:
    # Every command's text is proven to come from the catalogue by the German walk; one page
    # per module of commands is enough here.
    some = ("", "import-catalogue", "org set", "body add", "member add", "meeting agenda")
    pages = _help_pages(tmp_path, "--lang", "en", only=(*some, "status-check", "report"))
    assert len(pages) == 8
    for command, page in pages.items():
        assert "Usage:" in page and "Show this message and exit." in page, command
        assert GERMAN.findall(page) == [], (command, page)
    assert "Import a catalogue of measures" in pages["zielflow import-catalogue"]


def test_import_summary_in_both_languages(rt_sqlite: Runtime) -> None:
    catalogue = str(EXAMPLES / "catalogue.csv")
    german = _ok(CliRunner().invoke(app, ["import-catalogue", catalogue, "--org", "de-stadt"]))
    assert german.strip() == (
        "36 Maßnahmen gelesen; neu: 3 Handlungsfelder, 16 Ziele, 36 Maßnahmen, "
        "7 Fachbereiche, 13 Ansprechpersonen; geändert: nichts."
    )
    assert not re.search(r"\b(contacts|measures|fields|goals|departments)\b", german), german
    assert offences(german) == []
    english = _ok(
        CliRunner().invoke(app, ["--lang", "en", "import-catalogue", catalogue, "--org", "en-town"])
    )
    assert english.startswith("36 measures read; new: ")
    assert "36 measures" in english and "contacts" in english
    assert english.strip().endswith("changed: nothing.")
    assert GERMAN.findall(english) == [], english
    again = _ok(
        CliRunner().invoke(app, ["--lang", "en", "import-catalogue", catalogue, "--org", "en-town"])
    )
    assert again.strip() == "36 measures read; nothing changed."


def test_sweep_summary_in_both_languages(rt_sqlite: Runtime) -> None:
    german = _ok(CliRunner().invoke(app, ["sweep"])).strip()
    assert german == (
        "Durchlauf: 0 fällige Einträge geprüft, 0 Erinnerungen, "
        "0 Meldungen an die Leitung oder das Gremium, 0 Phasenwechsel, 0 Sammelübersichten. "
        "Versand: 0 E-Mails (keine), 0 später erneut, 0 unzustellbar."
    )
    english = _ok(CliRunner().invoke(app, ["--lang", "en", "sweep"])).strip()
    assert english == (
        "Sweep: 0 due items examined, 0 reminders, 0 escalations, 0 phase changes, "
        "0 digests. Sending: 0 emails (none), 0 to retry later, 0 undeliverable."
    )


def test_body_commands_follow_the_language(rt_sqlite: Runtime) -> None:
    with unit_of_work(rt_sqlite.sessions) as session:
        factories.organisation(session, slug="stadt")
    args = ["body", "add", "Steuerungsgruppe", "--kind", "steering_group", "--org", "stadt"]
    english = _ok(CliRunner().invoke(app, ["--lang", "en", *args])).strip()
    assert english.startswith("Body “Steuerungsgruppe” (") and "created, number 1." in english
    assert _ok(CliRunner().invoke(app, ["body", "list", "--org", "stadt"])).startswith(
        "1  Steuerungsgruppe (Steuerungsgruppe)"
    )


def _catalogue(lang: str) -> dict[str, str]:
    loaded: dict[str, str] = json.loads((LOCALES / f"cli.{lang}.json").read_text("utf-8"))
    return loaded


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_cli_catalogue_is_complete_and_plain_german() -> None:
    german, english = _catalogue("de"), _catalogue("en")
    assert german.keys() == english.keys()
    for key, text in german.items():
        assert offences(text) == [], (key, offences(text))
        assert _fields(text) == _fields(english[key]), key  # the same values fill both
    for key in german:
        if key.endswith(".one"):
            assert key.removesuffix(".one") + ".other" in german, key


def test_every_email_kind_has_a_label_in_both_languages() -> None:
    """The sweep and the simulation name the emails they sent by kind (= template name)."""
    templates = Path(__file__).resolve().parents[1] / "templates" / "email"
    kinds = {p.name.split(".")[0] for p in templates.glob("*.de.jinja")} - {"_layout"}
    german, english = _catalogue("de"), _catalogue("en")
    assert kinds and {k for k in kinds if f"mail_kind.{k}" not in german} == set()
    assert {k for k in kinds if f"mail_kind.{k}" not in english} == set()


def test_lang_may_be_typed_after_the_command() -> None:
    """``zielflow sweep --lang en`` as well as ``zielflow --lang en sweep``."""
    assert lang_first(["sweep", "--lang", "en"]) == ["--lang", "en", "sweep"]
    assert lang_first(["user", "add", "a@b.de", "--lang=en"]) == [
        "--lang=en",
        "user",
        "add",
        "a@b.de",
    ]
    assert lang_first(["report", "--", "--lang", "en"]) == ["report", "--", "--lang", "en"]
    assert lang_first(["--lang", "de", "sweep"]) == ["--lang", "de", "sweep"]


def _said(monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    """The whole output of a refused command line, one line per sentence, blanks collapsed."""
    import typer.rich_utils

    monkeypatch.setattr(typer.rich_utils, "MAX_WIDTH", 200)  # no sentence broken by the frame
    result = CliRunner().invoke(app, list(args), prog_name="zielflow")
    assert result.exit_code == 2, result.output
    return " ".join(result.output.replace("│", " ").split())


USAGE_ENGLISH = re.compile(
    r"\b(Usage|Try|Error|Missing|Invalid|No such|Got|requires|OPTIONS|COMMAND|ARGS|Input)\b"
)


def test_usage_errors_are_german_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    cases = {
        ("--x",): "Unbekannte Option: --x",
        ("user", "add", "a@b.de"): "Option '--role' fehlt.",
        ("user", "add"): "Argument 'e-mail' fehlt.",
        ("user", "add", "a@b.de", "--role"): "Option '--role' verlangt einen Wert.",
        ("open-cycle", "abc"): "Ungültiger Wert für 'jahr': 'abc' ist keine ganze Zahl.",
        ("simulate", "--start", "2026-01-01", "--days", "0"): (
            "Ungültiger Wert für '--days': Der Wert muss mindestens 1 betragen."
        ),
        ("--lang", "xx", "sweep"): "'xx' ist nicht zulässig; möglich: 'de', 'en'.",
        ("nosuch",): "Unbekannter Befehl 'nosuch'.",
        ("sweep", "extra"): "Überzählige Angabe: extra",
    }
    for args, sentence in cases.items():
        said = _said(monkeypatch, *args)
        assert sentence in said, (args, said)
        assert "Fehler" in said, said  # click names no usage line for an option's missing value
        assert USAGE_ENGLISH.findall(said) == [], (args, said)
        assert offences(said) == [], (args, offences(said))
    assert "Aufruf: zielflow [OPTIONEN] BEFEHL [ARGUMENTE]..." in _said(monkeypatch, "--x")
    assert "Hilfe erhalten Sie mit 'zielflow user add --help'." in _said(monkeypatch, "user", "add")


def test_usage_errors_are_english_with_lang_en(monkeypatch: pytest.MonkeyPatch) -> None:
    said = _said(monkeypatch, "--lang", "en", "user", "add", "a@b.de")
    assert "Usage: zielflow user add [OPTIONS] {email}" in said
    assert "Try 'zielflow user add --help' for help." in said
    assert "Error" in said and "Missing option '--role'." in said
    said = _said(monkeypatch, "--lang", "en", "open-cycle", "abc")
    assert "Invalid value for 'year': 'abc' is not a whole number." in said
    assert GERMAN.findall(said) == [] and "Aufruf" not in said, said


def test_import_counts_departments_in_the_organisations_term(rt_sqlite: Runtime) -> None:
    with unit_of_work(rt_sqlite.sessions) as session:
        factories.organisation(session, slug="kreis").unit_term = "amt"
    catalogue = str(EXAMPLES / "catalogue.csv")
    german = _ok(CliRunner().invoke(app, ["import-catalogue", catalogue, "--org", "kreis"]))
    assert "7 Ämter" in german and "Fachbereich" not in german, german
    indicators = str(EXAMPLES / "indicators.csv")
    args = ["--lang", "en", "import-indicators", indicators, "--org", "kreis"]
    english = _ok(CliRunner().invoke(app, args))
    assert english.startswith(f"{english.split()[0]} indicators read; new: "), english
    assert GERMAN.findall(english) == [] and "Ämter" not in english, english


def test_password_prompt_is_german(rt_sqlite: Runtime) -> None:
    with unit_of_work(rt_sqlite.sessions) as session:
        factories.organisation(session, slug="stadt")
    typed = "geheimgeheim123\nanderesanderes\ngeheimgeheim123\ngeheimgeheim123\n"
    args = ["user", "add", "a@stadt.de", "--role", "admin", "--org", "stadt"]
    said = CliRunner().invoke(app, args, input=typed).output
    assert "Passwort wiederholen:" in said and "stimmen nicht überein" in said, said
    assert "Konto a@stadt.de (admin) gespeichert." in said
    assert "Repeat" not in said and "Error" not in said, said
