"""The Subject header of a built email: folded between words, never right after "Subject:"."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

import pytest

from notifications.models import OutboxMessage
from notifications.render import RenderedEmail
from notifications.sender import build_message

SUBJECTS = [
    "Ihre – Zielvereinbarungsrückmeldungsfristverlängerung Sprachförderung“ um",
    "Zielvereinbarung – Rückmeldung – Bitte Zielvereinbarung Kindertagesstätten",
    "Bitte um Ihre Zielvereinbarung 2028 – Rückmeldung bis zum 31.12.2027 für die Maßnahme "
    "„Förderung der Teilhabe älterer Zugewanderter in den Stadtteilen“",
    "Übersicht für die Steuerungsgruppe: überfällige Rückmeldungen",
    "Kurz",
    "Erinnerung: Rückmeldung zur Zielerreichung "
    + "Zielvereinbarungsrückmeldungsfristverlängerungsbenachrichtigungsübersicht" * 2,
]
POLICIES = {
    "smtp": email.policy.SMTP,
    "smtputf8": email.policy.SMTPUTF8,
    "default": email.policy.default,
}


def _message(subject: str) -> email.message.EmailMessage:
    row = OutboxMessage(id=7, kind="form_invite", recipient_name="Frau Demir")
    row.recipient_email = "demir@musterstadt.example.org"
    rendered = RenderedEmail(subject=subject, text="Guten Tag", html="<p>Guten Tag</p>")
    return build_message(
        rendered,
        rows=[row],
        sender_name="Integrationsbüro",
        mail_from="zielflow@musterstadt.example.org",
        now=datetime(2027, 3, 1, 9, tzinfo=UTC),
    )


@pytest.mark.parametrize("policy", POLICIES.values(), ids=list(POLICIES))
@pytest.mark.parametrize("subject", SUBJECTS)
def test_subject_folds_after_words_and_decodes_to_the_same_text(
    subject: str, policy: email.policy.Policy
) -> None:
    raw = _message(subject).as_bytes(policy=policy)
    header = raw.split(b"\r\n\r\n" if b"\r\n" in raw else b"\n\n")[0]
    line = next(x for x in header.splitlines() if x.startswith(b"Subject:"))
    assert line.startswith(b"Subject: ") and line.strip() != b"Subject:", raw[:200]
    assert not line.startswith(b"Subject:  ")
    for folded in header.splitlines():
        assert len(folded) <= 998
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == subject
