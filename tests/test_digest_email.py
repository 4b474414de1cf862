"""The digest email of a body in both languages: its meeting and agenda, the overdue
indicators, the decisions due and how they ended (the contract test covers the rest)."""

from __future__ import annotations

import pytest
from markupsafe import escape

from tests.test_email_templates import DASHBOARD, parse, render, sample_context

LANGS = ("de", "en")
WORDS = {
    "de": {
        "meeting": "Sitzung am 29.05.2026",
        "start": "Beginn: 17:00 Uhr",
        "pack": "Sitzungsunterlage: ",
        "indicator": "Lieferung für Februar 2026: seit 23 Tagen überfällig · Eskalationsstufe 2",
        "task": "fällig am 30.04.2026 (seit 3 Tagen überfällig) · offen · zuständig: Zoë D'Almeida",
        "new": "(neu)",
        "done": "erledigt",
        "nothing": "nichts zu berichten",
    },
    "en": {
        "meeting": "Meeting on 29 May 2026",
        "start": "Start: 17:00",
        "pack": "Meeting pack: ",
        "indicator": "Delivery for February 2026: 23 days overdue · escalation level 2",
        "task": "due on 30 April 2026 (3 days overdue) · open · responsible: Zoë D'Almeida",
        "new": "(new)",
        "done": "done",
        "nothing": "nothing to report",
    },
}


@pytest.mark.parametrize("lang", LANGS)
def test_a_meeting_digest_names_the_meeting_and_its_agenda_in_order(lang: str) -> None:
    out = render("digest", lang, sample_context("digest", lang))
    text, html = out["text"], out["html"]
    words = WORDS[lang]
    pack = f"{DASHBOARD}/sitzungen/7/unterlage"
    assert f"{words['meeting']}\n" in text and words["start"] in text
    assert "  1. Bericht aus dem Handlungsfeld B\n  2. Eskalierte Maßnahmen & Kennzahlen\n" in text
    assert f"{words['pack']}{pack}" in text and pack in parse(html).hrefs
    assert "<li>Eskalierte Maßnahmen &amp; Kennzahlen</li>" in html
    assert text.index(words["meeting"]) < text.index("A1.1")  # the meeting comes first
    assert out["subject"].startswith("Begleitgremium Integration & Teilhabe: ")


@pytest.mark.parametrize("lang", LANGS)
def test_indicators_and_decisions_show_what_is_due_and_how_it_ended(lang: str) -> None:
    out = render("digest", lang, sample_context("digest", lang))
    text, html = out["text"], out["html"]
    words = WORDS[lang]
    assert f"  - B-K2 Anteil der Kinder mit Sprachförderbedarf < 20 % {words['new']}\n" in text
    assert f"    {words['indicator']}\n" in text
    assert f"{DASHBOARD}/kennzahlen/5" in parse(html).hrefs
    # The task's text keeps its lines, indented under the item; HTML escapes it.
    assert "    Konzept für die Elternarbeit vorlegen\n    mit Zeitplan & <Kosten>\n" in text
    assert str(escape("mit Zeitplan & <Kosten>")) in html and "<Kosten>" not in html
    assert f"    {words['task']} · " in text
    before, open_task, done_task = text.split("Konzept für die Elternarbeit")
    # Each task is headed by its kind and meeting; only the open one is new.
    assert words["new"] in before.splitlines()[-2]
    assert words["new"] not in open_task.splitlines()[-2]
    assert words["task"] in open_task
    assert f"\n    {words['done']}\n" in done_task and words["task"] not in done_task


@pytest.mark.parametrize("lang", LANGS)
def test_a_meeting_digest_without_news_names_the_meeting_and_says_so(lang: str) -> None:
    ctx = sample_context("digest", lang)
    ctx.update(new_items=[], still_open=[], resolved_items=[], indicators=[], decisions=[])
    ctx["status_checks"] = []
    ctx["totals"] = {"new": 0, "still_open": 0, "resolved": 0}
    out = render("digest", lang, ctx)
    for body in (out["text"], out["html"]):
        assert WORDS[lang]["nothing"] in body and WORDS[lang]["meeting"] in body
        assert "/massnahmen/" not in body and "/kennzahlen/" not in body
