"""Domain errors carry a code and parameters; the API, the pages and the CLI word them.

The same refusal reads German by default and English when the reader asks for English:
a stale version and an illegal move through the JSON API, a catalogue row error through the
CLI. Every code the code raises has a sentence in both catalogues.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner

from api.app import create_app
from api.errors import CODES
from tests.conftest import EXAMPLES
from tests.dashboard_seed import Seed, bearer, seed
from tests.wording import offences
from workflow import cli_errors, cli_lang, messages
from workflow.accounts import Role
from workflow.catalogue.service import CatalogueInvalid, ensure_organisation, import_catalogue
from workflow.cli import app
from workflow.cycles import coordination
from workflow.cycles.models import MeasureCycle
from workflow.db import unit_of_work
from workflow.orgs import OrganisationAmbiguous
from workflow.runtime import Runtime

ROOT = Path(__file__).resolve().parents[1]
ORGANISATION_CODES = ("organisation_none", "organisation_unknown", "organisation_ambiguous")
BOUNDS = ("greater_than_equal", "greater_than", "less_than_equal", "less_than")
# The shape of the codes this file checks: namespaced ("row.too_long") or the two bare ones.
CODE = re.compile(
    r"^(version_conflict|move_not_allowed|"
    r"(guard|move|not_found|payload|row|file|value|cli)\.[a-z0-9_.]*[a-z0-9_]|"
    r"(catalogue|indicators)\.invalid)$"
)


@pytest.fixture
def api(rt_sqlite: Runtime) -> Iterator[tuple[TestClient, Seed, dict[str, str]]]:
    s = seed(rt_sqlite)
    yield TestClient(create_app()), s, bearer(s, Role.COORDINATOR)


@pytest.fixture
def english() -> Iterator[None]:
    cli_lang.set_language("en")
    try:
        yield
    finally:
        cli_lang.set_language("de")


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    return error


def test_version_conflict_reads_in_the_requested_language(
    rt_sqlite: Runtime, api: tuple[TestClient, Seed, dict[str, str]]
) -> None:
    client, s, h = api
    url = f"/api/v1/measure-cycles/{s.item_ids[0]}/transitions"
    with unit_of_work(rt_sqlite.sessions) as session:  # a colleague moved it meanwhile
        session.execute(
            update(MeasureCycle).where(MeasureCycle.id == s.item_ids[0]).values(version=2)
        )
    stale = {"event": "defer", "version": 1, "payload": {"reason": "später"}}
    in_english = client.post(url, json=stale, headers={**h, "Accept-Language": "en"})
    english = _error(in_english, 409, "version_conflict")
    assert english["message"].startswith("The entry has been changed in the meantime")
    assert "Bitte" not in english["message"]
    assert english["details"]["current_version"] == 2
    german = _error(client.post(url, json=stale, headers=h), 409, "version_conflict")
    assert german["message"].startswith("Der Eintrag wurde inzwischen geändert")
    by_query = client.post(url + "?lang=en", json=stale, headers={**h, "Accept-Language": "de"})
    assert _error(by_query, 409, "version_conflict")["message"].startswith("The entry")
    nowhere = client.get("/api/v1/nowhere", headers={**h, "Accept-Language": "en"})
    assert _error(nowhere, 404, "not_found")["message"] == "Not found."


def test_an_illegal_move_names_the_allowed_events_in_both_languages(
    api: tuple[TestClient, Seed, dict[str, str]],
) -> None:
    client, s, h = api
    url = f"/api/v1/measure-cycles/{s.item_ids[0]}/transitions"
    wrong = {"event": "accept_review", "version": 1}
    english = _error(
        client.post(url, json=wrong, headers={**h, "Accept-Language": "en-GB,en;q=0.9"}),
        409,
        "move_refused",
    )
    german = _error(client.post(url, json=wrong, headers=h), 409, "move_refused")
    allowed = german["details"]["allowed_events"]
    assert "record_interview" in allowed and "drop" in allowed
    assert german["details"]["reason"] == "move_not_allowed"
    for event in allowed:
        assert messages.event_label(event, "en") in english["message"]
        assert messages.event_label(event, "de") in german["message"]
    assert messages.event_label("record_interview", "en") != messages.event_label(
        "record_interview", "de"
    )
    assert "not allowed" in english["message"] and "nicht erlaubt" in german["message"]
    guard = client.post(
        url,
        json={"event": "drop", "version": 1, "payload": {}},
        headers={**h, "Accept-Language": "en"},
    )
    refused = _error(guard, 409, "move_refused")
    assert refused["details"]["reason"] == "guard.reason_required"
    assert refused["message"] == "Please give a reason (field 'reason')."


def _bad_catalogue(tmp_path: Path) -> Path:
    lines = (EXAMPLES / "catalogue.csv").read_text(encoding="utf-8").splitlines()
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "\n".join([lines[0], lines[1], lines[2].replace(",1,A1.2,", ",9,A1.2,")]) + "\n",
        encoding="utf-8",
    )
    return bad


def test_a_catalogue_row_error_names_line_and_column_in_the_cli_language(
    rt_sqlite: Runtime, tmp_path: Path
) -> None:
    bad = _bad_catalogue(tmp_path)
    with pytest.raises(CatalogueInvalid) as refused, unit_of_work(rt_sqlite.sessions) as s:
        org = ensure_organisation(s, slug="teststadt", name="Teststadt")
        import_catalogue(session=s, organisation_id=org.id, path=bad)
    (error,) = refused.value.errors
    assert (error.code, error.params["value"]) == ("row.rank_invalid", "9")
    german = CliRunner().invoke(app, ["import-catalogue", str(bad), "--org", "teststadt"])
    assert german.exit_code == 1
    assert "Zeile 3, Spalte ziel_rang: Rang muss eine ganze Zahl von 1 bis 4 sein" in german.stderr
    assert "1 Fehler im Katalog; nichts wurde importiert." in german.stderr
    try:
        english = CliRunner().invoke(
            app, ["--lang", "en", "import-catalogue", str(bad), "--org", "teststadt"]
        )
    finally:
        cli_lang.set_language("de")  # the option sets it for the whole process
    assert english.exit_code == 1
    assert (
        "Line 3, column ziel_rang: The rank must be a whole number from 1 to 4, not '9'"
        in english.stderr
    )
    assert "1 error in the catalogue; nothing was imported." in english.stderr
    assert "Zeile" not in english.stderr


def test_cli_error_lines_follow_the_cli_language(english: None) -> None:
    unknown = OrganisationAmbiguous("organisation_unknown", "x", slug="nirgendwo", known=["a"])
    assert cli_errors.describe(unknown) == "There is no organisation 'nirgendwo' (known: a)."
    cli_lang.set_language("de")
    assert cli_errors.describe(unknown) == (
        "Die Organisation 'nirgendwo' gibt es nicht (vorhanden: a)."
    )


def _codes_in_code() -> set[str]:
    found: set[str] = set()
    for folder in ("workflow", "api", "notifications"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                text = node.value if isinstance(node, ast.Constant) else None
                if isinstance(text, str) and CODE.match(text):
                    found.add(text)
    return found


def test_every_code_in_code_has_a_sentence_in_both_languages() -> None:
    codes = _codes_in_code()
    # The scan must see the codes of the machine, the transitions and the import at least.
    assert {"version_conflict", "move_not_allowed", "guard.reason_required"} <= codes
    assert {"row.rank_invalid", "file.not_utf8", "catalogue.invalid"} <= codes
    for lang in messages.LANGUAGES:
        missing = sorted(c for c in codes if not messages.has(c, lang))
        assert not missing, (lang, missing)
    # Codes the code builds from a family name: the scan cannot see them whole.
    built = {f"cli.{c}" for c in ORGANISATION_CODES}
    built |= {f"cli.setting.{c}" for c in (*cli_errors._REFUSED, *BOUNDS)}
    built |= {f"payload.{c}" for c in coordination.FIELD_CODES}
    built |= {f"http.{code}" for code, _german in CODES.values()}
    for lang in messages.LANGUAGES:
        assert not sorted(c for c in built if not messages.has(c, lang)), lang
    assert set(messages.catalogue("de")) == set(messages.catalogue("en"))
    assert not {k: offences(v) for k, v in messages.catalogue("de").items() if offences(v)}
    for key, text in messages.catalogue("de").items():
        english = messages.catalogue("en")[key]
        fields = set(re.findall(r"\{(\w+)\}", text))
        assert fields == set(re.findall(r"\{(\w+)\}", english)), key
