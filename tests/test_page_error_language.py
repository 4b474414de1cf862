"""Error pages of the dashboard speak the reader's language, with the organisation's words.

Through the real app on SQLite: a page for something that does not exist (a measure, an
indicator, a meeting, a decision, a contact, a department) and a refusal (the status sheet
of a field the reader does not follow) read German by default and English with ``?lang=en``
or the ``zf_lang`` cookie; a department's page says "Amt" in an organisation of Ämter. The
assertions are on the text a person sees, not on the markup.
"""

from __future__ import annotations

import ast
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy import select, update

from api.app import create_app
from tests.dashboard_seed import login, seed
from workflow import messages
from workflow.accounts import Role
from workflow.catalogue.models import Contact, Measure, Organisation
from workflow.db import unit_of_work
from workflow.runtime import Runtime

ROOT = Path(__file__).resolve().parents[1]
MISSING = 987654  # a row id no seed reaches
# Path, German sentence, English sentence.
NOT_FOUND = (
    (f"/massnahmen/{MISSING}", "Diese Maßnahme gibt es nicht.", "This measure does not exist."),
    (f"/kennzahlen/{MISSING}", "Diese Kennzahl gibt es nicht.", "This indicator does not exist."),
    (f"/sitzungen/{MISSING}", "Diese Sitzung gibt es nicht.", "This meeting does not exist."),
    (f"/beschluesse/{MISSING}", "Diesen Eintrag gibt es nicht.", "This entry does not exist."),
    (
        f"/erstgespraech/{MISSING}",
        "Diese Ansprechperson gibt es nicht.",
        "This contact person does not exist.",
    ),
    (
        f"/fachbereiche/{MISSING}/leitung",
        "Ein Fachbereich mit dieser Nummer ist nicht vorhanden.",
        "There is no department with this number.",
    ),
)
REFUSED_DE = "Diesen Sachstand sehen die Koordinierungsstelle"
REFUSED_EN = "This status sheet is for the coordination office"


class _Visible(HTMLParser):
    """The text of a page as a person reads it: no tags, scripts or styles."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._hidden += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._hidden -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def _client(role: Role = Role.COORDINATOR) -> TestClient:
    client = TestClient(create_app())
    login(client, role)
    return client


@pytest.mark.parametrize(("path", "german", "english"), NOT_FOUND)
def test_a_missing_page_reads_german_then_english_by_query_and_cookie(
    rt_sqlite: Runtime, path: str, german: str, english: str
) -> None:
    seed(rt_sqlite)
    client = _client()
    default = client.get(path)
    assert default.status_code == 404
    assert german in visible(default.text) and english not in visible(default.text)
    asked = visible(client.get(path, params={"lang": "en"}).text)
    assert english in asked and german not in asked
    client.cookies.set("zf_lang", "en")
    by_cookie = client.get(path)
    assert by_cookie.status_code == 404
    assert english in visible(by_cookie.text) and german not in visible(by_cookie.text)


def test_a_missing_department_is_named_with_the_organisations_word(rt_sqlite: Runtime) -> None:
    s = seed(rt_sqlite)
    with unit_of_work(rt_sqlite.sessions) as session:
        session.execute(
            update(Organisation).where(Organisation.id == s.organisation_id).values(unit_term="amt")
        )
    client = _client()
    page = visible(client.get(f"/fachbereiche/{MISSING}/leitung").text)
    assert "Ein Amt mit dieser Nummer ist nicht vorhanden." in page
    assert "Fachbereich mit" not in page and "…" not in page


def test_a_refused_status_sheet_reads_german_then_english(rt_sqlite: Runtime) -> None:
    seed(rt_sqlite)
    member = _client(Role.STEERING)  # follows no field: may not see any sheet
    refused = member.get("/berichte/sachstand", params={"feld": "A"})
    assert refused.status_code == 403
    assert REFUSED_DE in visible(refused.text) and REFUSED_EN not in visible(refused.text)
    member.cookies.set("zf_lang", "en")
    english = member.get("/berichte/sachstand", params={"feld": "A"})
    assert english.status_code == 403
    assert REFUSED_EN in visible(english.text) and REFUSED_DE not in visible(english.text)


def test_the_interview_invitation_is_worded_in_the_readers_language(rt_sqlite: Runtime) -> None:
    seed(rt_sqlite)
    with rt_sqlite.sessions() as session:
        contact = session.scalars(
            select(Contact.id).join(Measure, Measure.contact_id == Contact.id).limit(1)
        ).one()
    client = _client()
    url = f"/erstgespraech/{contact}/einladung.ics"
    texts = {}
    for lang in ("de", "en"):
        answer = client.get(url, params={"start": "2026-04-01T09:30", "lang": lang})
        assert answer.status_code == 200, answer.text
        event = next(iter(Calendar.from_ical(answer.content).walk("VEVENT")))
        texts[lang] = f"{event['summary']}\n{event['description']}"
    assert texts["de"].startswith("Erstgespräch Integrationskonzept – ")
    assert "\nMaßnahmen:\n" in texts["de"]
    assert texts["en"].startswith("Initial interview on the integration concept – ")
    assert "\nMeasures:\n" in texts["en"]
    assert "Erstgespräch" not in texts["en"] and "Maßnahmen" not in texts["en"]


def _page_codes() -> set[str]:
    """The codes the dashboard's raise sites name: ``not_found("x")`` and ``PageError(..)``."""
    codes: set[str] = set()
    for path in (ROOT / "api" / "dashboard").glob("*.py"):
        for call in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
                continue
            texts = [
                a.value
                for a in call.args
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
            if call.func.id == "not_found" and texts:
                codes.add(f"page.not_found.{texts[0]}")
            elif call.func.id == "PageError" and len(texts) == 2:
                codes.add(texts[1])
    return codes


def test_every_code_of_the_pages_is_worded_in_both_languages() -> None:
    codes = _page_codes()
    assert {"page.not_found.email", "page.not_found.status_check", "http.not_found"} <= codes
    for lang in messages.LANGUAGES:
        assert sorted(c for c in codes if c not in messages.catalogue(lang)) == [], lang
