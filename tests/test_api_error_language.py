"""JSON API errors read in the reader's language, and JSON texts use the organisation's words.

A sample of refusals (a 404, a 409 duplicate, a 403 for a role, a CSRF refusal) reads German
by default and English with ``Accept-Language: en``. An organisation that calls its units
"Amt" reads "Amt" in a JSON text and in an error, from a sync route (the words must cross
FastAPI's worker threads) and without leaking into the next organisation's request. A static
guard fails on any ``ApiError``/``HTTPException`` under api/ that carries a German literal.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.app import create_app
from api.i18n import translate
from tests.dashboard_seed import Seed, bearer, login, seed
from workflow import messages
from workflow.accounts import Role, add_or_update_user, create_api_token
from workflow.catalogue.models import Organisation
from workflow.db import unit_of_work
from workflow.orgs import resolve_organisation
from workflow.runtime import Runtime

ROOT = Path(__file__).resolve().parents[1]
EN = {"Accept-Language": "en"}
DEPARTMENT = "Jobcenter-Kooperation / Wirtschaftsförderung"  # of examples/catalogue.csv


@pytest.fixture
def api(rt_sqlite: Runtime) -> Iterator[tuple[TestClient, Seed]]:
    yield TestClient(create_app()), seed(rt_sqlite)


def _message(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    text: str = error["message"]
    return text


def test_a_missing_row_reads_in_the_readers_language(api: tuple[TestClient, Seed]) -> None:
    client, s = api
    h = bearer(s, Role.STEERING)
    url = "/api/v1/indicators/987654"
    assert _message(client.get(url, headers=h), 404, "not_found") == (
        "Kennzahl 987654 nicht gefunden."
    )
    english = client.get(url, headers={**h, **EN})
    assert _message(english, 404, "not_found") == "Indicator 987654 not found."


def test_a_duplicate_reads_in_the_readers_language(api: tuple[TestClient, Seed]) -> None:
    client, s = api
    h = bearer(s, Role.ADMIN)
    again = {
        "email": "steering@musterstadt.example.org",
        "name": "X",
        "role": "steering",
        "password": "ein langes Passwort 789",
    }
    german = client.post("/api/v1/users", json=again, headers=h)
    assert _message(german, 409, "duplicate") == (
        "Ein Konto mit dieser E-Mail-Adresse gibt es schon."
    )
    english = client.post("/api/v1/users", json=again, headers={**h, **EN})
    assert _message(english, 409, "duplicate") == (
        "An account with this email address already exists."
    )


def test_a_missing_role_reads_in_the_readers_language(api: tuple[TestClient, Seed]) -> None:
    client, s = api
    h = bearer(s, Role.STEERING)
    german = client.get("/api/v1/users", headers=h)
    assert _message(german, 403, "forbidden") == "Dafür fehlt Ihnen die Berechtigung."
    english = client.get("/api/v1/users", headers={**h, **EN})
    assert _message(english, 403, "forbidden") == "You do not have permission for this."


def test_a_csrf_refusal_reads_in_the_readers_language(api: tuple[TestClient, Seed]) -> None:
    client, s = api
    login(client, Role.ADMIN)  # the cookie, and no token sent: refused
    url = f"/api/v1/measure-cycles/{s.item_ids[0]}/reissue-link"
    german = _message(client.post(url, json={"version": 1}), 403, "forbidden")
    assert german.startswith("Sicherheitsprüfung fehlgeschlagen (CSRF).")
    english = _message(client.post(url, json={"version": 1}, headers=EN), 403, "forbidden")
    assert english.startswith("Security check failed (CSRF).")


def _other_organisation(rt: Runtime) -> dict[str, str]:
    """A second organisation with the default words and a coordinator's token."""
    with unit_of_work(rt.sessions) as session:
        org = resolve_organisation(session, "nachbarstadt", create=True)
        user = add_or_update_user(
            session=session,
            organisation_id=org.id,
            email="k@nachbarstadt.example.org",
            role=Role.COORDINATOR,
            password="ein langes Passwort 456",
            now=rt.clock.now(),
        )
        raw = create_api_token(session, user, "test", rt.clock.now())[1]
    return {"Authorization": f"Bearer {raw}"}


def test_json_texts_use_the_words_of_the_readers_organisation(
    rt_sqlite: Runtime, api: tuple[TestClient, Seed]
) -> None:
    client, s = api
    neighbour = _other_organisation(rt_sqlite)
    with unit_of_work(rt_sqlite.sessions) as session:
        session.execute(
            update(Organisation).where(Organisation.id == s.organisation_id).values(unit_term="amt")
        )
    h = bearer(s, Role.COORDINATOR)
    due = (rt_sqlite.clock.now().date() + timedelta(days=21)).isoformat()
    started = client.post(
        "/api/v1/status-checks", json={"department": DEPARTMENT, "due_on": due}, headers=h
    )
    assert started.status_code == 201, started.text
    assert started.json()["selection_label"] == f"Amt {DEPARTMENT}"
    read = client.get(f"/api/v1/status-checks/{started.json()['id']}", headers=h)
    assert read.json()["selection_label"] == f"Amt {DEPARTMENT}"
    missing = client.get("/api/v1/departments/987654", headers=h)
    assert _message(missing, 404, "not_found") == "Amt 987654 nicht gefunden."
    # The next request of another organisation, and the code outside any request, keep
    # the default words: nothing of the "Amt" request stays behind.
    other = client.get("/api/v1/departments/987654", headers=neighbour)
    assert _message(other, 404, "not_found") == "Fachbereich 987654 nicht gefunden."
    assert translate("status_checks.selection.department", value="X") == "Fachbereich X"


def test_json_labels_follow_the_readers_language(
    rt_sqlite: Runtime, api: tuple[TestClient, Seed]
) -> None:
    client, s = api
    h = bearer(s, Role.COORDINATOR)
    due = (rt_sqlite.clock.now().date() + timedelta(days=21)).isoformat()
    started = client.post(
        "/api/v1/status-checks", json={"department": DEPARTMENT, "due_on": due}, headers=h
    )
    assert started.status_code == 201, started.text
    url = f"/api/v1/status-checks/{started.json()['id']}"
    german = client.get(url, headers=h).json()
    english = client.get(url, headers=h | {"Accept-Language": "en"}).json()
    assert german["origin_label"] == "von Hand"
    assert (english["origin_label"], english["selection_label"]) == (
        "by hand",
        f"department {DEPARTMENT}",
    )
    # The next German reader is not answered in English.
    assert client.get(url, headers=h).json()["origin_label"] == "von Hand"


# -- the static guard --------------------------------------------------------------------

GERMAN = re.compile(
    r"[äöüÄÖÜß]|\b(nicht|gibt|ist|sind|bitte|kein|keine|eine|einen|der|die|das|für|mit|"
    r"oder|und|nur|darf|dürfen|schon|Sie|wurde|werden)\b",
    re.IGNORECASE,
)
WORDED = {"reason", "wording"}
# Where the message/detail stands among the positional arguments.
POSITION = {"ApiError": (2, "message"), "HTTPException": (1, "detail")}


def _name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _literal_text(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
    return None


def _german_literals(source: str) -> Iterator[str]:
    """``line: text`` of each ApiError/HTTPException whose message is a German literal and
    which names no ``reason=`` or ``wording=``."""
    for call in (n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)):
        name = _name(call)
        if name not in POSITION or {k.arg for k in call.keywords} & WORDED:
            continue
        index, keyword = POSITION[name]
        node = call.args[index] if len(call.args) > index else None
        node = next((k.value for k in call.keywords if k.arg == keyword), node)
        text = _literal_text(node)
        if text is not None and GERMAN.search(text):
            yield f"{call.lineno}: {text[:70]!r}"


def test_the_guard_sees_a_german_literal() -> None:
    sample = (
        'raise ApiError(409, "duplicate", f"Eine Kennzahl {code} gibt es schon.")\n'
        'raise HTTPException(status_code=403, detail="Dafür fehlt Ihnen die Berechtigung.")\n'
        'raise errors.ApiError(422, "x", message="Das Jahr ist ungültig.")\n'
        'raise ApiError(404, "not_found", "Nicht gefunden.", reason="http.not_found")\n'
        "raise HTTPException(status_code=404)\n"
        'raise ApiError(404, "not_found", "Not found.")\n'
    )
    assert [hit.split(":")[0] for hit in _german_literals(sample)] == ["1", "2", "3"]


def test_no_api_error_carries_a_german_literal() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{hit}"
        for path in sorted((ROOT / "api").rglob("*.py"))
        for hit in _german_literals(path.read_text(encoding="utf-8"))
    ]
    assert not found, "\n".join(found)


# Raised with the code as first positional argument (api/errors.py, api/deps.py).
BY_CODE = {"WordedHTTPException": 1, "NotAuthenticated": 0}


def _codes_named_in(path: Path) -> Iterator[str]:
    """The literal codes a file hands to ``reason=``, ``not_found(...)`` and ``kind_code=``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        for keyword in call.keywords:
            value = keyword.value
            if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
                continue
            if keyword.arg == "reason":
                yield value.value
            elif keyword.arg == "kind_code":
                yield f"api.not_found.{value.value}"
                yield f"api.duplicate.{value.value}"
        name = _name(call)
        kind = _string(call.args[0]) if call.args else None
        # api/routes/common.py's not_found; the pages have helpers of their own by that name.
        if path.parent.name == "routes" and name == "not_found" and kind is not None:
            yield f"api.not_found.{kind}"
        code = _string(call.args[BY_CODE[name]]) if len(call.args) > BY_CODE.get(name, 99) else None
        if code is not None:
            yield code


def _string(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def test_every_code_the_api_names_is_worded_in_both_languages() -> None:
    codes = {c for p in (ROOT / "api").rglob("*.py") for c in _codes_named_in(p)}
    assert {"api.not_found.indicator", "api.duplicate.department", "api.csrf_failed"} <= codes
    for lang in messages.LANGUAGES:
        assert not sorted(c for c in codes if not messages.has(c, lang)), lang


def test_details_of_a_refused_policy_follow_the_readers_language(
    api: tuple[TestClient, Seed],
) -> None:
    client, s = api
    h = bearer(s, Role.COORDINATOR)
    policy = {"reminder_offsets_days": [-3]}
    year = "2031"
    answers = {
        lang: client.post(
            "/api/v1/cycles",
            json={"year": int(year), "policy": policy},
            headers=h | {"Accept-Language": lang},
        )
        for lang in ("de", "en")
    }
    for lang, said in (("de", "Fälligkeitstag"), ("en", "due date")):
        response = answers[lang]
        assert response.status_code == 422, response.text
        (problem,) = response.json()["error"]["details"]["errors"]
        assert problem["code"] == "policy.reminder_offset_negative"
        assert said in problem["message"], problem
