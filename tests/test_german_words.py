"""German words: both catalogues hold the same keys, and no German text uses a forbidden word.

The forbidden list is tests/wording.py (English jargon, colloquial phrases, bracket plurals,
the second word where one word per thing was chosen). The pages are checked as rendered,
with seeded data (tests/two_orgs.py, organisation B = Musterstadt, plus measures in the later
phases): every page a coordinator and a steering member can open (the routes come from
``app.routes``, so a page added later is checked too), and every form a department contact
reaches by the links in its mail. One SQLite database serves the module; the pages only read.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.app import create_app
from api.i18n import LANGUAGES, translate_plural
from tests.conftest import BERLIN
from tests.dashboard_seed import login
from tests.route_walk import Filler, OrgView, app_routes
from tests.two_orgs import OrgData, seed_two_orgs, sink_settings
from tests.wording import offences
from workflow import runtime
from workflow.accounts import Role
from workflow.catalogue.models import Contact
from workflow.clock import FrozenClock
from workflow.config import Settings
from workflow.cycles.coordination import perform
from workflow.db import unit_of_work
from workflow.wording import plural

LOCALES = Path(__file__).resolve().parents[1] / "api" / "locales"
# Not German pages of ours: the JSON API and its description, Swagger UI, the health check,
# the switch to English. Answers that are not HTML (a calendar file, a PDF) are left out by type.
SKIPPED = ("/openapi.json", "/docs", "/healthz", "/sprache/{lang}", "/api/")
# Attribute values a person reads or hears (the rest are addresses, names and classes).
READ_ATTRIBUTES = {"alt", "title", "placeholder", "aria-label"}
# Colloquial turns of the pages before, beyond tests/wording.py's list (matched as written).
COLLOQUIAL = (
    "Danke!",
    "Vielen Dank!",
    "unterwegs",
    "antworten Sie einfach",
    "Klappt es nicht",
    "Fertig?",
    "Ist jemand anderes",
    "weitermachen",
    "beim Tippen",
    "nichts verloren",
)
# Later phases for three of B's measures: their pages show those phases' words.
LATER = (
    [("drop", {"reason": "Kein Träger mehr"})],
    [
        ("record_interview", {"decision": "keep", "held_on": "2026-02-02"}),
        ("submit_agreement", {}),
        ("start_review", {}),
    ],
    [
        ("record_interview", {"decision": "keep", "held_on": "2026-02-02"}),
        ("submit_agreement", {}),
        ("start_review", {}),
        ("submit_review", {}),
    ],
)


def words_to_avoid(text: str) -> list[str]:
    return offences(text) + [phrase for phrase in COLLOQUIAL if phrase in text]


def _catalogues(lang: str) -> dict[str, dict[str, str]]:
    return {
        path.name.removesuffix(f".{lang}.json"): json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(LOCALES.glob(f"*.{lang}.json"))
    }


def test_every_key_is_in_both_languages() -> None:
    de, en = _catalogues("de"), _catalogues("en")
    assert set(de) == set(en)
    missing = {
        area: sorted(set(de[area]) ^ set(en[area])) for area in de if set(de[area]) != set(en[area])
    }
    assert not missing, missing


def test_no_german_catalogue_text_uses_a_forbidden_word() -> None:
    found = {
        f"{area}: {key}": words_to_avoid(text)
        for area, texts in _catalogues("de").items()
        for key, text in texts.items()
        if words_to_avoid(text)
    }
    assert not found, found


def test_plurals_pick_the_form_that_fits_the_count() -> None:
    assert translate_plural("forms.thanks.still_open", 1) == "Noch offen: 1 Maßnahme."
    assert translate_plural("forms.thanks.still_open", 3) == "Noch offen: 3 Maßnahmen."
    assert translate_plural("forms.thanks.still_open", 1, "en") == "Still open: 1 measure."
    assert translate_plural("forms.thanks.still_open", 0, "en") == "Still open: 0 measures."
    assert plural(1, "Maßnahme", "Maßnahmen") == "1 Maßnahme"
    assert plural(1234, "Maßnahme", "Maßnahmen") == "1.234 Maßnahmen"
    assert plural(1234, "measure", "measures", lang="en") == "1,234 measures"
    assert plural(0, "Angabe", "Angaben") == "0 Angaben"
    assert LANGUAGES == ("de", "en")  # two forms are enough only while these two are all


class _Visible(HTMLParser):
    """The text a reader sees or hears: no markup, scripts, styles or addresses."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        self.parts += [v for k, v in attrs if k in READ_ATTRIBUTES and v]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def test_visible_text_leaves_out_markup_scripts_and_addresses() -> None:
    html = (
        '<a href="/pipeline" class="Review">Verfahrensstand</a><script>var Token;</script>'
        '<style>.Digest{}</style><abbr title="Übersicht">Ü</abbr>'
    )
    assert visible_text(html) == "Verfahrensstand Übersicht Ü"
    assert offences(visible_text("<p>3 Maßnahme(n)</p>")) == ["e(n)"]


@dataclass
class World:
    app: FastAPI
    b: OrgData
    later: list[int]  # B's measures moved on to Gestrichen, Rückmeldung, Bewertung


@pytest.fixture(scope="module")
def world(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    work = tmp_path_factory.mktemp("german-words")
    shutil.copy(sqlite_template, work / "words.sqlite3")
    settings = Settings(
        database_url=f"sqlite:///{work / 'words.sqlite3'}",
        var_dir=work / "var",
        environment="development",  # the demo's mail page is a page people read, too
        **sink_settings(work / "var"),
    )
    clock = FrozenClock(datetime(2026, 2, 10, 10, 0, tzinfo=BERLIN))
    rt = runtime.build(settings, clock)
    runtime.install(rt)
    try:
        seeded = seed_two_orgs(rt, work)
        later = seeded.b.seed.item_ids[2 : 2 + len(LATER)]
        with unit_of_work(rt.sessions) as session:
            # One contact says how to be addressed; the others gave no salutation.
            session.execute(
                update(Contact)
                .where(Contact.organisation_id == seeded.b.seed.organisation_id)
                .where(Contact.name == "Tobias Brandt")
                .values(salutation="herr")
            )
            for item, events in zip(later, LATER, strict=True):
                for event, payload in events:
                    perform(
                        session=session,
                        clock=rt.clock,
                        measure_cycle_id=item,
                        event=event,
                        expected_version=None,
                        actor="test",
                        payload=payload,
                    )
        yield World(create_app(), seeded.b, later)
    finally:
        runtime.install(None)
        rt.engine.dispose()


def _page_urls(world: World) -> list[str]:
    b = world.b
    filler = Filler(
        OrgView(
            ids={t: list(ids) for t, ids in b.ids.items()},
            versions=dict(b.versions),
            mails=list(b.mails),
            form_tokens=list(b.form_tokens),
            reset_tokens=list(b.reset_tokens),
        )
    )
    urls: list[str] = []
    for route in app_routes(world.app):
        if route.method != "GET" or route.path.startswith(SKIPPED):
            continue
        if route.path.startswith("/f/{raw}"):
            # Every link a department contact received, not only the first.
            urls += [route.path.replace("{raw}", raw) for raw in b.form_tokens]
            continue
        urls += [c.url for c in filler.calls(route) if c.url not in urls]
    return urls + [f"/massnahmen/{item}" for item in world.later]


def _offences_on_pages(client: TestClient, urls: list[str]) -> tuple[list[str], int]:
    found: list[str] = []
    pages = 0
    for url in urls:
        response = client.get(url, follow_redirects=False)
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        pages += 1
        words = words_to_avoid(visible_text(response.text))
        if words:
            found.append(f"{url} ({response.status_code}): {sorted(set(words))}")
    return found, pages


@pytest.mark.parametrize("who", [Role.COORDINATOR, Role.STEERING, None], ids=str)
def test_no_german_page_uses_a_forbidden_word(world: World, who: Role | None) -> None:
    """Coordinator and steering member signed in; ``None``: a department contact by its links."""
    client = TestClient(world.app)
    if who is not None:
        login(client, who)
    urls = _page_urls(world)
    if who is None:
        urls = [u for u in urls if u.startswith("/f/")] + ["/login", "/passwort/vergessen"]
        assert len(urls) > 3, urls  # the contact's links were found in the mail
    found, pages = _offences_on_pages(client, urls)
    assert pages >= (4 if who is None else 20), pages
    assert not found, "\n".join(found)


def test_forms_greet_a_contact_by_salutation_or_neutrally(world: World) -> None:
    client = TestClient(world.app)
    texts = [visible_text(client.get(f"/f/{raw}").text) for raw in world.b.form_tokens]
    assert any("Sehr geehrter Herr Brandt," in t for t in texts)
    assert any("Guten Tag," in t for t in texts)  # no salutation given
    assert not any("Guten Tag Tobias" in t or "Guten Tag Sabine" in t for t in texts)
