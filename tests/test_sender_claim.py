"""A contact's queued messages go out as one email although they span two claims.

The sender claims ``send_batch_size`` rows in the order they were queued and groups them by
recipient within the claim; rows of one recipient that lie on both sides of the limit would
otherwise become two emails to the same person on the same morning.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

import notifications.sender as sender_module
from notifications.models import OutboxMessage
from notifications.sender import send_pending
from notifications.sink import CapturingHandler
from tests.conftest import make_runtime
from tests.test_sweep import seed
from workflow import runtime
from workflow.clock import FrozenClock
from workflow.tasks import send_all

MEASURES = 12
CONTACTS = 3  # measure i belongs to contact i % 3: every contact's rows are spread out


def _invitations_per_recipient(handler: CapturingHandler) -> Counter[str]:
    return Counter(
        m["To"].addresses[0].addr_spec
        for m in handler.messages
        if m["X-Zielflow-Kind"] == "invitation_agreement"
    )


def test_a_recipients_rows_beyond_the_claims_limit_join_their_email(
    database_url: str, clock: FrozenClock, tmp_path: Path, smtp_sink: tuple[int, CapturingHandler]
) -> None:
    port, handler = smtp_sink
    rt = make_runtime(
        database_url, clock, tmp_path, smtp_port=port, send_batch_size=5, smtp_timeout_seconds=10.0
    )
    try:
        seed(rt, clock, measures=MEASURES, contacts=CONTACTS)
        with rt.sessions() as s:
            queued = Counter(
                s.scalars(
                    select(OutboxMessage.recipient_email).where(
                        OutboxMessage.kind == "invitation_agreement"
                    )
                )
            )
        assert sorted(queued.values()) == [4, 4, 4]

        first = send_pending(rt)
        # Five rows taken at the limit, and the other rows of their three recipients with them.
        assert first.claimed == MEASURES
        assert _invitations_per_recipient(handler) == Counter({address: 1 for address in queued})
        # Each email lists all four of its recipient's measures.
        for message in handler.messages:
            body = message.get_body(("plain",))
            assert body is not None
            text = body.get_content()
            assert sum(f"M{i:04d}" in text for i in range(1, MEASURES + 1)) == 4
        assert send_all(rt).claimed == 0
    finally:
        rt.dispose()
        runtime.install(None)


def test_the_extension_takes_only_what_is_due_and_stops_at_its_own_limit(
    database_url: str,
    clock: FrozenClock,
    tmp_path: Path,
    smtp_sink: tuple[int, CapturingHandler],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A recipient's row that is not yet due stays queued; and a recipient with more rows
    than a claim may grow to is split there, every row sent once."""
    port, handler = smtp_sink
    monkeypatch.setattr(sender_module, "CLAIM_MAX_ROWS", 4)
    rt = make_runtime(
        database_url, clock, tmp_path, smtp_port=port, send_batch_size=2, smtp_timeout_seconds=10.0
    )
    try:
        seed(rt, clock, measures=7, contacts=1)
        with rt.sessions() as s:
            ids = list(
                s.scalars(
                    select(OutboxMessage.id)
                    .where(OutboxMessage.kind == "invitation_agreement")
                    .order_by(OutboxMessage.id)
                )
            )
            assert len(ids) == 7
            s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == ids[-1])
                .values(not_before=clock.now() + timedelta(days=1))
            )
            s.commit()
        # The limit of 2, and the same recipient's due rows up to four in all.
        assert send_pending(rt).claimed == 4
        assert send_pending(rt).claimed == 2
        assert send_pending(rt).claimed == 0
        assert _invitations_per_recipient(handler) == Counter({"mkontakt0@stadt.example.org": 2})
        with rt.sessions() as s:
            rows = s.execute(
                select(OutboxMessage.id, OutboxMessage.status).where(OutboxMessage.id.in_(ids))
            )
            statuses = {row.id: row.status for row in rows}
        assert statuses == {**{i: "sent" for i in ids[:-1]}, ids[-1]: "pending"}
    finally:
        rt.dispose()
        runtime.install(None)
