"""What the Auftrag emails show: the Aufträge, who gave them, and a form link made now.

Called by ``notifications.render`` at send time, because a raw link token may exist only in
the email itself. Reads the database and issues (and, for a reissued link, revokes) tokens;
never sends and never queues.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from notifications.models import OutboxMessage
from notifications.outbox_search import key_matches
from workflow.bodies.models import Body, Meeting
from workflow.catalogue.models import Contact, Organisation
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import Cycle
from workflow.deadlines import days_overdue
from workflow.decisions import assignments
from workflow.decisions.models import Decision, DecisionStatus
from workflow.forms.tokens import FormToken, Phase, form_url, issue_token
from workflow.indicators.mail import format_date
from workflow.indicators.requests import policy_for

ASSIGNMENT_KINDS = {
    assignments.REQUEST,
    assignments.REMINDER,
    assignments.FINAL_REMINDER,
    assignments.ESCALATION_HEAD,
    assignments.CONFIRMATION,
}
LINK_KINDS = ASSIGNMENT_KINDS - {assignments.ESCALATION_HEAD}
STATUS_LABELS = {
    "de": {
        DecisionStatus.OPEN.value: "offen",
        DecisionStatus.IN_PROGRESS.value: "in Bearbeitung",
        DecisionStatus.DONE.value: "erledigt",
    },
    "en": {
        DecisionStatus.OPEN.value: "open",
        DecisionStatus.IN_PROGRESS.value: "in progress",
        DecisionStatus.DONE.value: "done",
    },
}
MEETING = {"de": "{body}, Sitzung am {date}", "en": "{body}, meeting of {date}"}


def reference(body: Body, meeting: Meeting, lang: str) -> str:
    """How an email names an Auftrag: the body and the meeting that gave it."""
    lang = "en" if lang == "en" else "de"
    return MEETING[lang].format(body=body.name, date=format_date(meeting.held_on, lang))


def assignment_context(
    session: Session,
    *,
    base_url: str,
    now: datetime,
    rows: list[OutboxMessage],
    org: Organisation,
    lang: str,
) -> dict[str, Any]:
    kind = rows[0].kind
    ids = sorted({int(r.context["decision_id"]) for r in rows})
    decisions = list(session.scalars(select(Decision).where(Decision.id.in_(ids))))
    cal = calendar_of(org)
    sent = _reminders_sent(session, ids)
    items = []
    for decision in sorted(decisions, key=lambda d: (d.due_on or date.max, d.id)):
        meeting = session.get(Meeting, decision.meeting_id)
        body = session.get(Body, meeting.body_id) if meeting else None
        assert meeting is not None and body is not None, "a decision belongs to a meeting"
        item: dict[str, Any] = {
            "decision_id": decision.id,
            "code": reference(body, meeting, lang),
            "title": decision.text,
            "due_on": format_date(decision.due_on, lang),
            "days_overdue": days_overdue(decision.due_on, now, cal),
            "reminders_sent": sent.get(decision.id, 0),
            "status_label": STATUS_LABELS["en" if lang == "en" else "de"].get(
                decision.status, decision.status
            ),
        }
        if kind == assignments.CONFIRMATION:
            item["answer"] = decision.answer
        items.append(item)
    context: dict[str, Any] = {"items": items}
    contact = session.get(Contact, int(rows[0].context["contact_id"]))
    assert contact is not None
    if kind in LINK_KINDS:
        context |= _link(session, base_url, now, org, contact, rows, decisions, lang)
    if kind == assignments.REQUEST:
        context["notice"] = str(rows[0].context.get("notice", ""))
    if kind == assignments.ESCALATION_HEAD:
        context |= {"contact_name": contact.name, "contact_email": contact.email}
    if kind == assignments.CONFIRMATION:
        context["submitted_by"] = _name_of(session, str(rows[0].context.get("submitted_by", "")))
    return context


def _name_of(session: Session, actor: str) -> str:
    kind, _, ident = actor.partition(":")
    contact = session.get(Contact, int(ident)) if kind == "contact" and ident.isdigit() else None
    return contact.name if contact else actor


def _reminders_sent(session: Session, ids: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for decision_id in ids:
        out[decision_id] = int(
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    key_matches(OutboxMessage.dedupe_key, f"as:{decision_id}:", ":reminder:", ""),
                    OutboxMessage.status == "sent",
                )
            )
            or 0
        )
    return out


def _token_cycle(session: Session, org: Organisation, rows: list[OutboxMessage]) -> int:
    """The cycle the link names: the one named when the message was queued, or (should it have
    been removed since) the newest one."""
    queued = rows[0].context.get("cycle_id")
    if queued is not None and session.get(Cycle, int(queued)) is not None:
        return int(queued)
    newest = assignments.newest_cycle_id(session, org.id)
    assert newest is not None, "an Auftrag is opened only once a cycle exists"
    return newest


def _link(
    session: Session,
    base_url: str,
    now: datetime,
    org: Organisation,
    contact: Contact,
    rows: list[OutboxMessage],
    decisions: list[Decision],
    lang: str,
) -> dict[str, Any]:
    cal = calendar_of(org)
    policy = policy_for(session, org.id)
    today = cal.local_date(now)
    dues = [d.due_on for d in decisions if d.due_on is not None]
    expires_day = max([*dues, today]) + timedelta(days=policy.link_valid_days_after_due)
    kind = rows[0].kind
    if kind == assignments.REQUEST and any(r.context.get("notice") == "reissued" for r in rows):
        # The links that existed when the new one was asked for die only with this email: if
        # building it fails, the transaction rolls back and the working link stays.
        session.execute(
            update(FormToken)
            .where(
                FormToken.contact_id == contact.id,
                FormToken.organisation_id == org.id,
                FormToken.phase == Phase.ASSIGNMENT.value,
                FormToken.revoked_at.is_(None),
                FormToken.created_at <= max(r.created_at for r in rows),
            )
            .values(revoked_at=now)
        )
    raw = issue_token(
        session=session,
        organisation_id=org.id,
        contact_id=contact.id,
        cycle_id=_token_cycle(session, org, rows),
        phase=Phase.ASSIGNMENT,
        expires_at=cal.at_local(expires_day + timedelta(days=1), 0),
        now=now,
        issued_by=f"email:{kind}",
    )
    return {
        "form_url": form_url(base_url, raw),
        "due_on": format_date(min(dues), lang) if dues else "",
        "link_expires_on": format_date(expires_day, lang),
    }
