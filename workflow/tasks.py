"""Celery tasks: thin wrappers that run one sweep or one send against the database.

A task carries no data worth keeping: it is a nudge to look at the database now. Losing
one delays work until the next beat; running one twice finds nothing left to do. So a task
that fails (the database is away) is not retried by Celery: the next beat is its retry, and
what must not be lost waits in the outbox. A Celery retry would be a countdown message held
unacknowledged by the worker, which kombu restores when Redis restarts, and that path could
end the worker with exit status 0.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from notifications.data_status import queue_data_status
from notifications.digest import DigestReport, build_digests
from notifications.sender import SendReport, send_pending
from workflow import runtime
from workflow.celery_app import app
from workflow.meetings.invitations import queue_invitations
from workflow.privacy.retention import apply_retention
from workflow.sweep import SweepReport, run_sweep

log = logging.getLogger(__name__)

MAX_SEND_ROUNDS = 50


@dataclass
class TickReport:
    sweep: SweepReport
    digests: int  # digest emails queued
    send: SendReport
    digests_skipped: int = 0  # member periods that came without anything new


def sweep_once(rt: runtime.Runtime) -> tuple[SweepReport, DigestReport]:
    report = run_sweep(
        sessions=rt.sessions, clock=rt.clock, batch_size=rt.settings.sweep_batch_size
    )
    # Invitations and change emails of meetings, counted together under the invitation kind.
    if invited := queue_invitations(sessions=rt.sessions, clock=rt.clock):
        report.add("meeting_invitation", invited)
    digests = build_digests(sessions=rt.sessions, clock=rt.clock)
    # The Monitoringgruppe's (or the coordinators') Datenstand, once per period.
    if queued := queue_data_status(sessions=rt.sessions, clock=rt.clock):
        report.add("data_status", queued)
    apply_retention(rt.sessions, rt.settings, rt.clock.now())  # no daily hook: cheap when idle
    return report, digests


def send_all(rt: runtime.Runtime) -> SendReport:
    """Send in rounds until nothing sendable is left (rows retried later stay for later)."""
    total = SendReport()
    for _ in range(MAX_SEND_ROUNDS):
        report = send_pending(rt)
        for name in ("claimed", "emails_sent", "rows_sent", "retried", "dead"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        for kind, n in report.by_kind.items():
            total.by_kind[kind] = total.by_kind.get(kind, 0) + n
        if report.claimed == 0 or report.emails_sent == 0:
            break
    return total


def tick(rt: runtime.Runtime) -> TickReport:
    """What ``zielflow sweep`` and the simulation do: one sweep, the digests, then send."""
    sweep, digests = sweep_once(rt)
    return TickReport(sweep, digests.sent, send_all(rt), digests.skipped)


@app.task(name="zielflow.sweep", acks_late=True, reject_on_worker_lost=True)
def sweep_task() -> dict[str, int]:
    report, digests = sweep_once(runtime.current())
    if report.queued or digests.sent or report.moved:
        nudge_sender()  # the sweep committed its batches before this line
    return {"queued": report.queued, "moved": report.moved, "digests": digests.sent}


@app.task(name="zielflow.send", acks_late=True, reject_on_worker_lost=True)
def send_task() -> dict[str, int]:
    report = send_all(runtime.current())
    return {"emails_sent": report.emails_sent, "retried": report.retried, "dead": report.dead}


@app.task(name="zielflow.bounces", acks_late=True, reject_on_worker_lost=True)
def bounces_task() -> dict[str, int]:
    """One read of the bounce mailbox; a server that is away waits for the next beat."""
    from notifications.bounces.imap import read_mailbox

    rt = runtime.current()
    if not (rt.settings.bounce_domain and rt.settings.bounce_imap_host):
        return {}
    report = read_mailbox(rt.sessions, rt.settings, rt.clock.now)
    return {**report.counts, "failed": report.failed}


def nudge_sender() -> None:
    try:
        send_task.delay()
    except Exception:  # the broker is down: the periodic send will pick the rows up
        log.warning("could not queue the send task; the next periodic send will do it")
