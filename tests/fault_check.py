"""Judges a fault run from the database and the sink: nothing lost, nothing doubled outside the window.

``settled`` tells the test when the engine has finished by itself; ``judge`` lists every
violation in words (an empty list is a pass) and counts what the table shows.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from notifications.models import OutboxMessage
from tests.fault_run import Window
from tests.fault_sink import StoredCopy
from tests.fault_world import Answer, World
from workflow.cycles import pipeline_store
from workflow.cycles.models import AuditEvent, MeasureCycle, TargetAgreement
from workflow.runtime import Runtime

UNFINISHED = {"pending", "sending"}


@dataclass
class Verdict:
    rows_due: int = 0  # outbox rows that must go out as email
    emails_sent: int = 0  # distinct emails the database marked sent (rows share one when grouped)
    delivered: int = 0
    duplicated: int = 0  # extra copies explained by a window
    lost: int = 0  # rows never queued or never finished, and emails marked sent never stored
    duplicated_outside: int = 0  # extra copies nothing explains
    dead: int = 0
    dead_letters: int = 0
    answers: int = 0
    answers_kept: int = 0
    violations: list[str] = field(default_factory=list)


def _rows(rt: Runtime) -> list[OutboxMessage]:
    with rt.sessions() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def settled(rt: Runtime, world: World, dead_recipient: str | None, copies: set[str]) -> bool:
    """Every expected row exists and is final, and every sent row's email has arrived."""
    try:
        rows = _rows(rt)
    except DBAPIError:
        return False  # the database is restarting
    have = Counter((r.kind, r.recipient_email, r.measure_cycle_id) for r in rows)
    if have != world.expected_rows(dead_recipient):
        return False
    if any(r.status in UNFINISHED for r in rows if r.channel == "email"):
        return False
    if any(r.status == "pending" for r in rows if r.kind == "digest_item"):
        return False
    return all(r.message_id in copies for r in rows if r.status == "sent")


def judge(
    rt: Runtime,
    world: World,
    dead_recipient: str | None,
    copies: list[StoredCopy],
    windows: list[Window],
    answers: list[Answer],
) -> Verdict:
    v = Verdict()
    rows = _rows(rt)
    expected = world.expected_rows(dead_recipient)
    have = Counter((r.kind, r.recipient_email, r.measure_cycle_id) for r in rows)
    for row, n in (expected - have).items():
        v.violations.append(f"lost: {n}x {row}")
        v.lost += n
    for row, n in (have - expected).items():
        v.violations.append(f"queued but not expected: {n}x {row}")
    for r in rows:
        if r.kind == "digest_item":
            want = "included"
        elif r.recipient_email == dead_recipient:
            want = "dead"
        else:
            want = "sent"
        if r.status != want:
            v.violations.append(
                f"row {r.id} {r.kind} to {r.recipient_email}: {r.status}, not {want}"
            )
            v.lost += int(want != "included")
        if want == "dead" and "554" not in r.last_error:
            v.violations.append(f"row {r.id} dead without the 5xx answer: {r.last_error!r}")
    email_rows = [r for r in rows if r.channel == "email"]
    v.rows_due = sum(1 for r in email_rows if r.recipient_email != dead_recipient)
    v.emails_sent = len({r.message_id for r in email_rows if r.status == "sent"})
    v.dead = sum(1 for r in email_rows if r.status == "dead")
    notices = [r for r in email_rows if r.kind == "dead_letter" and r.status == "sent"]
    v.dead_letters = len(notices)
    for r in email_rows:
        told = any(
            n.context.get("failed_kind") == r.kind
            and n.context.get("failed_recipient") == r.recipient_email
            for n in notices
        )
        if r.status == "dead" and not told:
            v.violations.append(f"row {r.id} {r.kind} dead, and no coordinator was told")
    _judge_copies(v, email_rows, copies, windows)
    _judge_answers(v, rt, answers)
    _judge_counts(v, rt)
    return v


def _judge_copies(
    v: Verdict, rows: list[OutboxMessage], copies: list[StoredCopy], windows: list[Window]
) -> None:
    by_id: dict[str, list[StoredCopy]] = defaultdict(list)
    for c in sorted(copies, key=lambda c: c.at):
        by_id[c.message_id].append(c)
    sent_ids = {r.message_id for r in rows if r.status == "sent"}
    for r in rows:
        if r.status == "sent" and r.message_id not in by_id:
            v.violations.append(f"row {r.id} {r.kind} marked sent, never arrived")
            v.lost += 1
        if r.status == "dead" and r.message_id in by_id:
            v.violations.append(f"row {r.id} {r.kind} dead, but arrived")
    v.delivered = len(sent_ids & set(by_id))
    quota = [w.quota for w in windows]
    for message_id, same in by_id.items():
        if message_id not in sent_ids:
            v.violations.append(
                f"{same[0].kind} to {same[0].recipient} arrived as {message_id}, "
                "which no sent row carries (sent again under another Message-ID?)"
            )
            v.duplicated_outside += 1
            continue
        first = same[0]
        resends = 0
        for n, extra in enumerate(same[1:], start=1):
            # A sender that hung up without a word after an earlier copy may never have read
            # its "250" (it was killed, or stopped waiting): resending is what it must do.
            if sum(c.abandoned for c in same[:n]) > resends:
                resends += 1
                v.duplicated += 1
                continue
            i = _window_for(first, extra, windows, quota)
            if i is None:
                v.violations.append(
                    f"{first.kind} to {first.recipient} ({message_id}) arrived again "
                    f"{extra.at - first.at:.1f}s later outside every fault window, "
                    "although its sender had gone on talking after the first copy"
                )
                v.duplicated_outside += 1
            else:
                quota[i] -= 1
                v.duplicated += 1


def _window_for(
    first: StoredCopy, extra: StoredCopy, windows: list[Window], quota: list[int]
) -> int | None:
    """A kill explains a copy if the victim's open connection stored the first copy before the
    kill; a database outage, if the first copy was stored while the database was away."""
    for i, w in enumerate(windows):
        if quota[i] <= 0:
            continue
        if w.ports is not None:
            # Bytes the victim sent before it froze may still be stored a moment later.
            if first.client_port in w.ports and first.at <= w.start + 0.5 < extra.at:
                return i
        elif w.start <= first.at <= w.end and extra.at > w.end:
            return i
    return None


def _judge_counts(v: Verdict, rt: Runtime) -> None:
    """The pipeline's counts survived the kills and restarts: equal to a full count."""
    with rt.sessions() as s:
        for d in pipeline_store.check(s):
            v.violations.append(f"pipeline count {d.key}: kept {d.kept}, counted {d.counted}")


def _judge_answers(v: Verdict, rt: Runtime, answers: list[Answer]) -> None:
    v.answers = len(answers)
    with rt.sessions() as s:
        for a in answers:
            mc_id = a.item.mc_id
            if a.error or a.outcome not in {"moved", "unchanged"}:
                v.violations.append(f"answer for {mc_id} not given: {a.outcome} {a.error}")
            ta = s.scalars(
                select(TargetAgreement).where(TargetAgreement.measure_cycle_id == mc_id)
            ).first()
            mc = s.get(MeasureCycle, mc_id)
            moves = s.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.measure_cycle_id == mc_id, AuditEvent.event == "submit_agreement")
            )
            kept = (
                ta is not None
                and ta.targets == a.fields["targets"]
                and ta.submitted_at is not None
                and mc is not None
                and mc.state == "implementation"
            )
            if not kept:
                v.violations.append(f"answer for {mc_id} lost: {ta and ta.targets!r}")
            if moves != 1:
                v.violations.append(f"measure {mc_id} moved {moves} times by its answer")
            v.answers_kept += int(kept and moves == 1)
