"""The fault suite's sink knows which copies a client may never have seen accepted, and the
judge lets exactly those be sent again."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage

import aiosmtplib

from notifications.models import OutboxMessage
from tests.fault_check import Verdict, _judge_copies
from tests.fault_sink import StoredCopy, start_faulty_sink
from tests.live import free_port


def _message(n: int) -> EmailMessage:
    m = EmailMessage()
    m["From"] = "zielflow@stadt.example.org"
    m["To"] = "kontakt@stadt.example.org"
    m["Subject"] = f"Nachricht {n}"
    m["Message-ID"] = f"<m{n}@stadt.example.org>"
    m["X-Zielflow-Kind"] = "reminder"
    m.set_content("Text")
    return m


async def _talk(port: int) -> None:
    polite = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
    await polite.connect()
    await polite.send_message(_message(1))
    await polite.quit()
    rude = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
    await rude.connect()
    await rude.send_message(_message(2))
    await rude.send_message(_message(3))
    rude.close()  # as a worker does when it stops waiting for a "250": no QUIT


def test_the_sink_marks_a_copy_whose_client_hung_up_without_another_word() -> None:
    port = free_port()
    controller, sink = start_faulty_sink(port)
    try:
        # Its own thread: an earlier test may have left an event loop running in this one.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, _talk(port)).result(timeout=30)
        deadline = time.monotonic() + 5
        while len(sink.abandoned) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        controller.stop()
    marks = {c.message_id: c.abandoned for c in sink.snapshot()}
    assert marks == {
        "<m1@stadt.example.org>": False,  # QUIT followed it
        "<m2@stadt.example.org>": False,  # the next MAIL followed it
        "<m3@stadt.example.org>": True,
    }


def _copy(at: float, abandoned: bool) -> StoredCopy:
    return StoredCopy("<m@x>", "reminder", "kontakt@x", at, client_port=4000, abandoned=abandoned)


def test_the_judge_excuses_a_resend_only_after_an_abandoned_copy() -> None:
    row = OutboxMessage(id=1, status="sent", message_id="<m@x>", kind="reminder")
    for abandoned, violations in ((True, 0), (False, 1)):
        v = Verdict()
        _judge_copies(v, [row], [_copy(1.0, abandoned), _copy(61.0, False)], [])
        assert len(v.violations) == violations, v.violations
        assert (v.duplicated, v.duplicated_outside) == (1 - violations, violations)
    # One abandoned copy excuses one resend, not two.
    v = Verdict()
    copies = [_copy(1.0, True), _copy(61.0, False), _copy(62.0, False)]
    _judge_copies(v, [row], copies, [])
    assert (v.duplicated, len(v.violations), v.duplicated_outside) == (1, 1, 1)
