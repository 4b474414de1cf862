"""What a German reader meets in our emails: the formal register, one word per thing, and a
greeting that fits the person (issue 13, "Words").

Every German template is rendered with the contract test's sample contexts; the greeting is
checked against real contacts and body members on SQLite and through the real renderer.
"""

from __future__ import annotations

import re

import pytest

from notifications import digest_views, meeting_mail
from notifications.greeting import greeting_for
from notifications.models import OutboxMessage
from notifications.render import KIND_LABELS, PHASE_LABELS, Renderer
from tests.test_email_templates import cases, context_for, render, sample_context
from tests.wording import offences
from workflow.bodies.models import Body, BodyMember
from workflow.catalogue.models import Contact, Organisation
from workflow.db import unit_of_work
from workflow.machine import LABELS_DE
from workflow.runtime import Runtime
from workflow.salutation import SALUTATIONS, greeting

GERMAN = [case for case in cases() if case.values[1] == "de"]
# Colloquial turns a German administration does not write, beyond tests/wording.py's list.
COLLOQUIAL = (
    "Vielen Dank!",
    "vielen Dank!",
    "Unterstützung!",
    "einfach",
    "gerade eben",
    "schreiben Sie uns bitte kurz",
    "schreiben Sie uns gern",
    "möchten wir gern wissen",
    "Bescheid",
    "brauchen Sie",
    "Brauchen Sie",
    "ist jemand anderes",
    "Ist jemand anderes",
    "dann ist alles erledigt",
    "ist sind",
    "Wie geht es weiter",
    "Dann schreiben Sie",
    "Haben wir Rückfragen",
    "Es geht um",
)


# -- the greeting itself (pure) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("salutation", "name", "lang", "expected"),
    [
        ("frau", "Aylin Demir", "de", "Sehr geehrte Frau Demir,"),
        ("herr", "Dr. Jonas van Dijk", "de", "Sehr geehrter Herr Dr. van Dijk,"),
        ("", "Amtsleitung Sozialamt", "de", "Guten Tag,"),
        ("frau", "", "de", "Guten Tag,"),
        ("frau", "Aylin Demir", "en", "Dear Ms Demir,"),
        ("herr", "  Jonas   Weber ", "en", "Dear Mr Weber,"),
        ("", "Amtsleitung Sozialamt", "en", "Hello,"),
        ("divers", "Alex Roth", "de", "Guten Tag,"),
    ],
)
def test_the_greeting_names_only_a_person_with_a_stated_salutation(
    salutation: str, name: str, lang: str, expected: str
) -> None:
    assert greeting(salutation=salutation, name=name, lang=lang) == expected


def test_the_salutations_are_the_three_of_the_contract() -> None:
    assert SALUTATIONS == ("", "frau", "herr")


# -- every German template ----------------------------------------------------------------


@pytest.mark.parametrize(("kind", "lang", "variant"), GERMAN)
def test_german_emails_use_the_formal_register_and_one_word_per_thing(
    kind: str, lang: str, variant: str
) -> None:
    out = render(kind, lang, context_for(kind, lang, variant))
    for part in ("subject", "text", "html"):
        body = out[part]
        assert offences(body) == [], (part, offences(body))
        found = [phrase for phrase in COLLOQUIAL if re.search(rf"(?<!\w){phrase}", body)]
        assert found == [], (part, found)
    # A letter closes in the office's name, above the signature.
    office = "Stabsstelle Integration & Vielfalt"
    assert f"\n\nMit freundlichen Grüßen\n{office}\n\n-- \n" in out["text"]
    assert out["html"].count("<p>Mit freundlichen Grüßen<br>") == 1
    # The greeting stands on its own line and is what the renderer computed, nothing more.
    assert out["text"].startswith("Sehr geehrte Frau Weiß-O'Brien,\n\n")
    assert "<p>Sehr geehrte Frau Weiß-O&#39;Brien,</p>" in out["html"]


@pytest.mark.parametrize(("kind", "lang", "variant"), list(cases()))
def test_every_address_in_the_text_part_stands_apart(kind: str, lang: str, variant: str) -> None:
    """A line that ends in a block tag must not glue its colon to the link below it."""
    text = render(kind, lang, context_for(kind, lang, variant))["text"]
    assert re.findall(r"[^\s<>\"'(]https?://", text) == []


@pytest.mark.parametrize(
    ("lang", "line"),
    [("de", "seit 21 Tagen überfällig · Eskalationsstufe 2"), ("en", "21 days overdue")],
)
def test_a_digest_indents_an_unanswered_status_check_under_its_entry(lang: str, line: str) -> None:
    text = render("digest", lang, sample_context("digest", lang))["text"]
    assert f"\n    {line}" in text


def test_the_labels_emails_and_the_outbox_show_carry_no_jargon() -> None:
    labels = [*KIND_LABELS["de"].values(), *PHASE_LABELS["de"].values(), *LABELS_DE.values()]
    labels += [*meeting_mail.LABELS["de"].values(), *digest_views.WORDS["de"].values()]
    for label in labels:
        assert offences(label) == [], label


@pytest.mark.parametrize(
    ("kind", "subject"),
    [
        (
            "invitation_agreement",
            "Bitte um Ihre Zielvereinbarung 2026 – Rückmeldung bis 15.04.2026",
        ),
        (
            "review_request",
            "Bitte um Ihre Rückmeldung zur Zielerreichung 2026 – Antwort bis 15.04.2026",
        ),
    ],
)
def test_a_form_request_says_what_is_asked_and_by_when(kind: str, subject: str) -> None:
    assert render(kind, "de", sample_context(kind, "de"))["subject"] == subject


# -- the greeting of real recipients --------------------------------------------------------


def _row(org_id: int, kind: str, email: str, name: str, **context: object) -> OutboxMessage:
    return OutboxMessage(
        organisation_id=org_id,
        kind=kind,
        recipient_email=email,
        recipient_name=name,
        language="de",
        context=dict(context),
    )


def test_contacts_members_and_function_addresses_are_greeted_as_recorded(
    rt_sqlite: Runtime,
) -> None:
    with unit_of_work(rt_sqlite.sessions) as s:
        org = Organisation(slug="lindenau", name="Stadt Lindenau", contact_email="i@lindenau.de")
        s.add(org)
        s.flush()
        demir = Contact(
            organisation_id=org.id, name="Aylin Demir", email="a.demir@lindenau.de",
            salutation="frau",
        )  # fmt: skip
        office = Contact(
            organisation_id=org.id, name="Amtsleitung Sozialamt", email="sozialamt@lindenau.de",
            is_head=True,
        )  # fmt: skip
        body = Body(organisation_id=org.id, name="Steuerungsgruppe")
        s.add_all([demir, office, body])
        s.flush()
        weber = BodyMember(
            body_id=body.id, name="Jonas Weber", email="j.weber@verein.example.org",
            salutation="herr",
        )  # fmt: skip
        s.add(weber)
        s.flush()

        def greet(row: OutboxMessage) -> str:
            return greeting_for(s, row, "de")

        # A contact, by the id the row carries and by address alone (e.g. an escalation).
        assert (
            greet(_row(org.id, "reminder", "old@lindenau.de", "x", contact_id=demir.id))
            == "Sehr geehrte Frau Demir,"
        )
        assert (
            greet(_row(org.id, "escalation_head", "A.Demir@lindenau.de ", "Aylin Demir"))
            == "Sehr geehrte Frau Demir,"
        )
        # A body member, by the membership the digest names and by address (an invitation).
        digest = _row(org.id, "digest", weber.email, weber.name, member_id=weber.id)
        assert greet(digest) == "Sehr geehrter Herr Weber,"
        meeting = _row(org.id, "meeting_invitation", weber.email, weber.name)
        assert greet(meeting) == "Sehr geehrter Herr Weber,"
        assert greeting_for(s, meeting, "en") == "Dear Mr Weber,"
        # A function address, an outside address and another organisation's row: neutral.
        assert greet(_row(org.id, "escalation_head", office.email, office.name)) == "Guten Tag,"
        assert greet(_row(org.id, "password_reset", "n@x.example", "Nina Roth")) == "Guten Tag,"
        elsewhere = Organisation(slug="auenkreis", name="Auenkreis")
        s.add(elsewhere)
        s.flush()
        assert greet(_row(elsewhere.id, "reminder", demir.email, demir.name)) == "Guten Tag,"

        # Through the renderer: the head of a department, greeted as the catalogue says.
        for head, expected in ((office, "Guten Tag,"), (demir, "Sehr geehrte Frau Demir,")):
            row = _row(
                org.id, "escalation_head", head.email, head.name, contact_id=demir.id,
                phase="target_agreement",
            )  # fmt: skip
            email = Renderer(s, rt_sqlite.settings, rt_sqlite.clock.now()).render([row])
            assert email.text.startswith(f"{expected}\n\n")
            assert f"<p>{expected}</p>" in email.html
            assert "Amtsleitung Sozialamt," not in email.text
