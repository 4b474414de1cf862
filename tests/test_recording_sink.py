"""The simulation's SMTP sink keeps of each message what the run reads: kind, Message-ID, the
recipient's address, and the plain text only for the kinds whose links are followed."""

from __future__ import annotations

import smtplib
from email.headerregistry import Address
from email.message import EmailMessage

from notifications.sink import CapturingHandler, RecordingHandler, start_sink
from tests.live import free_port


def _message(n: int, kind: str, to: Address) -> EmailMessage:
    m = EmailMessage()
    m["From"] = "zielflow@stadt.example.org"
    m["To"] = to
    m["Subject"] = f"Auftrag Nr. {n}: Rückmeldung erbeten"
    m["Message-ID"] = f"<m{n}.zielflow@stadt.example.org>"
    m["X-Zielflow-Kind"] = kind
    m.set_content(
        f"Guten Tag,\n\nbitte antworten Sie hier: https://z.example.org/f/{'A' * 24}{n}\n"
    )
    m.add_alternative(
        f"<p>Bitte antworten Sie <a href='https://z.example.org/f/x{n}'>hier</a>.</p>",
        subtype="html",
    )
    return m


def _send(port: int, messages: list[EmailMessage]) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        for message in messages:
            client.send_message(message)


def test_the_recording_sink_keeps_kind_id_address_and_only_the_texts_asked_for() -> None:
    port = free_port()
    sink = RecordingHandler(text_of={"assignment_request"})
    controller, handler = start_sink("127.0.0.1", port, handler=sink)
    try:
        _send(
            port,
            [
                _message(
                    1,
                    "assignment_request",
                    Address("Jürgen Größe-Öztürk", addr_spec="J.Groesse@Stadt.example.org"),
                ),
                _message(2, "reminder", Address(addr_spec="amt32@stadt.example.org")),
            ],
        )
    finally:
        controller.stop()
    assert handler is sink
    first, second = sink.received
    assert (first.kind, first.message_id, first.to) == (
        "assignment_request",
        "<m1.zielflow@stadt.example.org>",
        "j.groesse@stadt.example.org",
    )
    assert first.text is not None and f"/f/{'A' * 24}1" in first.text
    assert "<p>" not in first.text  # the plain part, not the HTML
    assert (second.kind, second.message_id, second.to, second.text) == (
        "reminder",
        "<m2.zielflow@stadt.example.org>",
        "amt32@stadt.example.org",
        None,
    )
    assert sink.messages == []  # no whole message kept
    assert len(sink.envelopes) == 2


def test_the_capturing_sink_still_keeps_every_whole_message() -> None:
    port = free_port()
    controller, handler = start_sink("127.0.0.1", port)
    try:
        _send(port, [_message(3, "reminder", Address(addr_spec="amt32@stadt.example.org"))])
    finally:
        controller.stop()
    assert isinstance(handler, CapturingHandler) and not isinstance(handler, RecordingHandler)
    (message,) = handler.messages
    assert message["X-Zielflow-Kind"] == "reminder"
    assert message.get_body(("plain",)) is not None
