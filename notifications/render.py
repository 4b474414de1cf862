"""Turns a group of outbox rows for one recipient into one email: subject, text and HTML.

Reads the database for what the templates show, and issues form links at this moment,
because a raw link token may exist only in the email itself. Never sends anything.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from notifications.answers import answer_pairs
from notifications.bounces.notice import KIND as BOUNCE_NOTICE
from notifications.bounces.notice import notice_context
from notifications.data_status_mail import KIND as DATA_STATUS
from notifications.data_status_mail import data_status_context
from notifications.greeting import greeting_for
from notifications.link_targets import OUTBOX_FAILED, link_request_target
from notifications.models import OutboxMessage
from notifications.receipts import for_colleague
from notifications.status_answers import status_request_context
from workflow.catalogue.models import Contact, Organisation
from workflow.conference.activities import KINDS as ACTIVITY_KINDS
from workflow.conference.activities import request_context as activity_context
from workflow.conference.mail import KINDS as CONFERENCE_KINDS
from workflow.conference.mail import invitation_context
from workflow.config import Settings
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import Cycle, MeasureCycle, Review, TargetAgreement
from workflow.deadlines import DeadlinePolicy, days_overdue
from workflow.decisions.assignment_mail import ASSIGNMENT_KINDS, assignment_context
from workflow.forms.models import Delegation, DelegationStatus
from workflow.forms.revocation import end_owner_scope
from workflow.forms.scope import scope_ids
from workflow.forms.tokens import FormToken, Phase, form_url, issue_token, write_tokens
from workflow.indicators.mail import DATA_KINDS, data_context
from workflow.machine import LABELS_DE, State
from workflow.milestones.mail import MILESTONE_KINDS, milestone_context
from workflow.organisation_settings import address_line
from workflow.reports import english
from workflow.status_checks.mail import KINDS as STATUS_CHECK_KINDS
from workflow.status_checks.mail_context import status_check_context
from workflow.terms import terms_for

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "email"
LINK_KINDS = {
    "invitation_agreement",
    "review_request",
    "reminder",
    "final_reminder",
    "deadline_extended",
    "delegation",
    "link_reissued",
}
# Kinds whose link is the owner's whole scope (all their open measures of the phase).
SCOPE_KINDS = {"delegation", "link_reissued"}
CONFIRMATIONS = {"confirmation_agreement", "confirmation_review"}
MEETING_KINDS = {"meeting_invitation", "meeting_changed"}
# The context key under which a kind's builder hands over its attachments (no template reads it).
ATTACHMENTS = "_attachments"
# A context key whose value becomes header lines, popped before the template sees it.
HEADERS = "_headers"
REMINDER_KINDS = ("reminder", "final_reminder")

PHASE_LABELS = {
    "de": {
        "target_agreement": "Zielvereinbarung",
        "review": "Zielerreichung",
        "data_delivery": "Kennzahlenlieferung",
        "assignment": "Aufträge der Gremien",
        "milestone": "Meilenstein",
        "status_check": "Sachstandsabfrage",
    },
    "en": {
        "target_agreement": "target agreement",
        "review": "review of achievement",
        "data_delivery": "indicator data delivery",
        "assignment": "tasks set by a body",
        "milestone": "milestone",
        "status_check": "status check",
    },
}
STATE_LABELS_EN = {
    State.INITIAL_INTERVIEW: "initial interview",
    State.TARGET_AGREEMENT: "target agreement",
    State.IMPLEMENTATION: "implementation",
    State.REVIEW: "review",
    State.ASSESSMENT: "assessment",
    State.REPLANNING: "re-planning",
    State.CARRIED_FORWARD: "carried forward",
    State.DEFERRED: "deferred",
    State.DROPPED: "dropped",
    State.COMPLETED: "completed",
}
KIND_LABELS = {
    "de": {
        "invitation_agreement": "Bitte um die Zielvereinbarung",
        "review_request": "Bitte um die Rückmeldung zur Zielerreichung",
        "reminder": "Erinnerung",
        "final_reminder": "Letzte Erinnerung",
        "escalation_head": "Meldung an die Leitung",
        "digest": "Sammelübersicht",
        "confirmation_agreement": "Eingangsbestätigung Zielvereinbarung",
        "confirmation_review": "Eingangsbestätigung Zielerreichung",
        "deadline_extended": "Fristverlängerung",
        "delegation": "Weitergabe des Formulars",
        "delegation_notice": "Hinweis auf die Weitergabe Ihres Formulars",
        "delegation_approval": "Bitte um Freigabe einer Weitergabe",
        "link_request": "Bitte um einen neuen Link",
        "link_reissued": "Neuer Link",
        "password_reset": "Passwort zurücksetzen",
        "data_request": "Bitte um Kennzahlen",
        "data_reminder": "Erinnerung an Kennzahlen",
        "data_final_reminder": "Letzte Erinnerung an Kennzahlen",
        "data_escalation_head": "Meldung an die Leitung (Kennzahlen)",
        "confirmation_data": "Eingangsbestätigung Kennzahlen",
        "data_deadline_extended": "Neue Frist für Kennzahlen",
        "data_delegation": "Weitergabe des Formulars für Kennzahlen",
        "data_delegation_notice": "Hinweis auf die Weitergabe Ihres Formulars für Kennzahlen",
        "dead_letter": "Hinweis auf eine unzustellbare E-Mail",
        "meeting_invitation": "Einladung zur Sitzung eines Gremiums",
        "meeting_changed": "Geänderter Sitzungstermin",
        "status_request": "Bitte um den aktuellen Sachstand",
        "assignment_request": "Auftrag eines Gremiums",
        "assignment_reminder": "Erinnerung an einen Auftrag",
        "assignment_final_reminder": "Letzte Erinnerung an einen Auftrag",
        "assignment_escalation_head": "Meldung an die Leitung (Auftrag)",
        "assignment_confirmation": "Eingangsbestätigung Auftrag",
        "status_check_request": "Sachstandsabfrage",
        "status_check_reminder": "Erinnerung an die Sachstandsabfrage",
        "status_check_final_reminder": "Letzte Erinnerung an die Sachstandsabfrage",
        "status_check_escalation_head": "Meldung an die Leitung (Sachstandsabfrage)",
        "status_check_confirmation": "Eingangsbestätigung Sachstand",
        "status_check_delegation_notice": "Hinweis auf die Weitergabe Ihrer Sachstandsabfrage",
        "milestone_due": "Meilenstein erreicht?",
        "open_cycle_reminder": "Bitte um Eröffnung des nächsten Zyklus",
        "bounce_notice": "Hinweis auf nicht erreichbare E-Mail-Adressen",
        "conference_invitation": "Einladung zur Integrationskonferenz",
        "actor_activity_request": "Abfrage der Aktivitäten der Akteure",
        "data_status": "Datenstand der Kennzahlen",
    },
    "en": {
        "invitation_agreement": "invitation to the target agreement",
        "review_request": "review request",
        "reminder": "reminder",
        "final_reminder": "final reminder",
        "escalation_head": "escalation to the head",
        "digest": "digest to the steering group",
        "confirmation_agreement": "target agreement confirmation",
        "confirmation_review": "review confirmation",
        "deadline_extended": "deadline extension",
        "delegation": "form handed on",
        "delegation_notice": "notice: your form was handed on",
        "delegation_approval": "request to approve a hand-over",
        "link_request": "request for a new link",
        "link_reissued": "new link",
        "password_reset": "password reset",
        "data_request": "request for indicator values",
        "data_reminder": "indicator values reminder",
        "data_final_reminder": "final indicator values reminder",
        "data_escalation_head": "escalation to the head (indicators)",
        "confirmation_data": "indicator values confirmation",
        "data_deadline_extended": "new deadline for indicator values",
        "data_delegation": "indicator values form handed on",
        "data_delegation_notice": "notice: your indicator values form was handed on",
        "dead_letter": "notice of an undeliverable email",
        "meeting_invitation": "invitation to a body's meeting",
        "meeting_changed": "meeting rescheduled",
        "status_request": "request for the current status",
        "assignment_request": "task set by a body",
        "assignment_reminder": "task reminder",
        "assignment_final_reminder": "final task reminder",
        "assignment_escalation_head": "escalation to the head (task)",
        "assignment_confirmation": "task answer confirmation",
        "status_check_request": "status check",
        "status_check_reminder": "status check reminder",
        "status_check_final_reminder": "final status check reminder",
        "status_check_escalation_head": "escalation to the head (status check)",
        "status_check_confirmation": "status report confirmation",
        "status_check_delegation_notice": "notice: your status check was handed on",
        "milestone_due": "milestone reached?",
        "open_cycle_reminder": "please open the next cycle",
        "bounce_notice": "notice of unreachable email addresses",
        "conference_invitation": "invitation to the integration conference",
        "actor_activity_request": "request for the actors' activities",
        "data_status": "indicator data status",
    },
}
_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    # The templates ship with the code and change only with a restart; checking each one's
    # file on every use costs a system call per template and email.
    auto_reload=False,
)


class HandOverEnded(Exception):
    """A hand-over's invitation whose hand-over ended after it was queued: it must not go out."""


@dataclass(frozen=True)
class Attachment:
    """A file sent with an email, built at send time from the database, never stored."""

    filename: str
    content: bytes
    maintype: str
    subtype: str
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()
    # Extra header lines, e.g. List-Unsubscribe on an invitation.
    headers: tuple[tuple[str, str], ...] = ()


def format_date(day: date | None, lang: str) -> str:
    """An email is a letter: "31 December 2027" in English, 31.12.2027 in German."""
    if day is None:
        return ""
    return english.long_day(day) if lang == "en" else day.strftime("%d.%m.%Y")


def phase_of(row: OutboxMessage) -> str:
    if row.kind == "review_request" or row.kind == "confirmation_review":
        return Phase.REVIEW.value
    if row.kind in {"invitation_agreement", "confirmation_agreement"}:
        return Phase.TARGET_AGREEMENT.value
    phase = row.context.get("phase") or row.context.get("state") or ""
    return str(phase)


def render_template(kind: str, lang: str, context: dict[str, Any]) -> RenderedEmail:
    template = _env.get_template(f"{kind}.{lang if lang in ('de', 'en') else 'de'}.jinja")
    # The organisation's words (Fachbereich or Amt …); a caller without one gets the defaults.
    context = {"terms": terms_for(None, lang), **context}
    parts = {
        name: "".join(template.blocks[name](template.new_context(context)))
        for name in ("subject", "text", "html")
    }
    return RenderedEmail(
        " ".join(parts["subject"].split()),
        parts["text"].strip() + "\n",
        parts["html"].strip() + "\n",
    )


class Renderer:
    """Builds template contexts for groups of outbox rows, within one session."""

    def __init__(
        self, session: Session, settings: Settings, now: datetime, *, defer_links: bool = False
    ) -> None:
        """``defer_links``: the form links of the emails rendered wait in ``pending_links``
        until ``write_links`` (the sender writes a chunk's links in one statement)."""
        self.session = session
        self.settings = settings
        self.now = now
        self._sent: dict[int, int] = {}
        self.pending_links: list[dict[str, Any]] | None = [] if defer_links else None

    def write_links(self) -> None:
        """Write the deferred form links; nothing to do without ``defer_links``."""
        if self.pending_links:
            write_tokens(self.session, self.pending_links)

    def know_sent_reminders(self, mc_ids: Iterable[int]) -> None:
        """Count the reminders sent for ``mc_ids`` in one query, for every email rendered
        after (the sender asks once per chunk instead of once per email)."""
        missing = {i for i in mc_ids if i not in self._sent}
        if missing:
            self._sent.update(sent_reminders(self.session, missing))

    def render(self, rows: list[OutboxMessage]) -> RenderedEmail:
        first = rows[0]
        lang = first.language if first.language in ("de", "en") else "de"
        org = self.session.get(Organisation, first.organisation_id)
        assert org is not None
        context: dict[str, Any] = {
            "org_name": org.name,
            "org_office_name": org.office_name,
            "org_office_address": address_line(org),
            "org_contact_email": org.contact_email or self.settings.mail_from,
            "terms": terms_for(org, lang),
            "greeting": greeting_for(self.session, first, lang),
            "lang": lang,
            "dashboard_url": self.settings.base_url.rstrip("/"),
        }
        context.update(self._extra(first.kind, rows, org, lang))
        attachments = tuple(context.pop(ATTACHMENTS, ()))
        headers = tuple(context.pop(HEADERS, ()))
        rendered = render_template(first.kind, lang, context)
        return replace(rendered, attachments=attachments, headers=headers)

    # -- per kind -------------------------------------------------------------------------

    def _extra(
        self, kind: str, rows: list[OutboxMessage], org: Organisation, lang: str
    ) -> dict[str, Any]:
        if kind in DATA_KINDS:
            # Indicator data deliveries: the same machinery, their own context (and links).
            return data_context(
                self.session, base_url=self.settings.base_url, now=self.now, rows=rows,
                org=org, lang=lang,
            )  # fmt: skip
        if kind in ASSIGNMENT_KINDS:
            # A body's Aufträge: the same machinery, their own context (and links).
            return assignment_context(
                self.session, base_url=self.settings.base_url, now=self.now, rows=rows,
                org=org, lang=lang,
            )  # fmt: skip
        if kind in STATUS_CHECK_KINDS:
            # One contact's part of a status check: its own link, scoped to that part.
            return status_check_context(
                self.session, base_url=self.settings.base_url, now=self.now, rows=rows,
                org=org, lang=lang,
            )  # fmt: skip
        if kind in MILESTONE_KINDS:
            # "Meilenstein erreicht?": one answer link pair per milestone, made now.
            return milestone_context(
                self.session, base_url=self.settings.base_url, now=self.now, rows=rows,
                org=org, lang=lang,
            )  # fmt: skip
        if kind in CONFERENCE_KINDS:
            # An actor's invitation: its own link and an unsubscribe link, made now.
            shown = invitation_context(
                self.session, base_url=self.settings.base_url, now=self.now, rows=rows,
                org=org, lang=lang,
            )  # fmt: skip
            return shown | {HEADERS: (("List-Unsubscribe", f"<{shown['unsubscribe_url']}>"),)}
        if kind in ACTIVITY_KINDS:
            # An actor's yearly request for its activities: its own link, made now.
            return activity_context(
                self.session, base_url=self.settings.base_url, now=self.now, rows=rows,
                org=org, lang=lang,
            )  # fmt: skip
        if kind in MEETING_KINDS:
            # Imported here: the meeting email uses this module's helpers for its measures.
            from notifications.meeting_mail import meeting_email

            shown, files = meeting_email(self.session, self.settings, self.now, rows, org, lang)
            return shown | {ATTACHMENTS: files}
        if kind == DATA_STATUS:  # its lists were fixed when queued (notifications/data_status)
            return data_status_context(rows[0].context, lang, self.settings.base_url)
        if kind == BOUNCE_NOTICE:  # its list was fixed when queued (notifications/bounces)
            return notice_context(rows[0].context, lang, self.settings.base_url)
        ctx = rows[0].context
        phase = phase_of(rows[0])
        phase_label = PHASE_LABELS[lang].get(phase, phase)
        items = self._items([r.measure_cycle_id for r in rows if r.measure_cycle_id], org, lang)
        extra: dict[str, Any] = {"items": items, "phase": phase, "phase_label": phase_label}
        if kind in LINK_KINDS:
            extra.update(self._link(rows, org, phase, lang))
        if kind in CONFIRMATIONS:
            extra.update(self._confirmation(rows, org, phase, lang))
        if kind == "escalation_head":
            contact = self.session.get(Contact, ctx.get("contact_id") or 0)
            extra["contact_name"] = contact.name if contact else ""
            extra["contact_email"] = contact.email if contact else ""
        if kind == "deadline_extended":
            extra["reason"] = str(ctx.get("reason", ""))
        if kind == "delegation":
            # The person who handed the form on, by the name and address the catalogue holds.
            sender = self.session.get(
                Contact, ctx.get("by_contact_id") or ctx.get("from_contact_id") or 0
            )
            extra["from_name"] = sender.name if sender else ""
            extra["from_email"] = sender.email if sender else ""
        if kind in ("delegation_notice", "delegation_approval"):
            extra.update(self._handover(ctx))
        if kind == "link_request":
            cycle = self.session.get(Cycle, ctx.get("cycle_id") or 0)
            action, path = link_request_target(
                self.session,
                contact_id=int(ctx.get("contact_id") or 0),
                cycle_id=cycle.id if cycle else None,
                phase=str(ctx.get("phase", "")),
            )
            extra.update(
                action=action,
                action_url=self.settings.base_url.rstrip("/") + path,
                contact_name=ctx.get("contact_name", ""),
                contact_email=ctx.get("contact_email", ""),
                # A data-delivery link belongs to no cycle: name the current year instead.
                cycle_year=cycle.year if cycle else calendar_of(org).local_date(self.now).year,
            )
        if kind == "password_reset":
            from workflow.accounts import issue_password_reset

            raw = issue_password_reset(self.session, int(ctx["user_id"]), self.now)
            extra["reset_url"] = f"{self.settings.base_url.rstrip('/')}/passwort/neu/{raw}"
            extra["expires_label"] = "in 60 Minuten" if lang == "de" else "in 60 minutes"
        if kind == "dead_letter":
            extra.update(
                failed_kind_label=KIND_LABELS[lang].get(
                    str(ctx.get("failed_kind", "")), str(ctx.get("failed_kind", ""))
                ),
                failed_recipient=str(ctx.get("failed_recipient", "")),
                attempts=int(ctx.get("attempts", 0)),
                last_error=str(ctx.get("last_error", "")),
                outbox_url=self.settings.base_url.rstrip("/") + OUTBOX_FAILED,
                items=self._items(list(ctx.get("measure_cycle_ids", [])), org, lang),
            )
        if kind == "status_request":
            extra.update(status_request_context(self.session, ctx, items, lang))
        if kind == "open_cycle_reminder":  # workflow/cycles/carry.py queues it per stay
            extra.update(
                year=int(ctx["year"]),
                next_year=int(ctx["next_year"]),
                pipeline_url=f"{self.settings.base_url.rstrip('/')}/pipeline?cycle={ctx['year']}",
            )
        if kind == "digest":
            # Digests queued before bodies had their own lack the newer keys: still render.
            legacy: dict[str, Any] = {
                "body_name": "",
                "meeting": None,
                "indicators": [],
                "decisions": [],
                "status_checks": [],
                "towns": [],  # before members could represent a town (issue 15)
            }
            extra.update(legacy | ctx["digest"])
        return extra

    def _items(self, mc_ids: list[int], org: Organisation, lang: str) -> list[dict[str, Any]]:
        self.know_sent_reminders(mc_ids)
        return items_for(self.session, mc_ids, org, lang, self.now, sent=self._sent)

    def _handover(self, ctx: dict[str, Any]) -> dict[str, Any]:
        """Whose form went to whom, from the hand-over as it stands now."""
        delegation = self.session.get(Delegation, int(ctx.get("delegation_id") or 0))
        assert delegation is not None, "a hand-over's messages name it"
        owner = self.session.get(Contact, delegation.owner_contact_id)
        return {
            "delegate_name": delegation.delegate_name,
            "delegate_email": delegation.delegate_email,
            "pending": delegation.status == DelegationStatus.PENDING.value,
            "owner_name": owner.name if owner else "",
            "owner_email": owner.email if owner else "",
        }

    def _link(
        self, rows: list[OutboxMessage], org: Organisation, phase: str, lang: str
    ) -> dict[str, Any]:
        ctx = rows[0].context
        kind = rows[0].kind
        if kind in SCOPE_KINDS or kind == "delegation":
            # These read and revoke links of the scope: the links issued before them in this
            # transaction must be rows by then, as they would be without the deferral.
            self.write_links()
        contact_id = int(ctx.get("delegate_contact_id") or ctx["contact_id"])
        mc_ids = [r.measure_cycle_id for r in rows if r.measure_cycle_id]
        mcs = [self.session.get(MeasureCycle, mc_id) for mc_id in mc_ids]
        cycle_id = int(ctx.get("cycle_id") or (mcs[0].cycle_id if mcs and mcs[0] else 0))
        cycle = self.session.get(Cycle, cycle_id)
        assert cycle is not None
        shown: dict[str, Any] = {}
        if kind in SCOPE_KINDS:
            # These links open all of the owner's measures of the cycle and phase, whichever
            # row queued the email: name (and time the link by) what it opens now.
            owner_id = int(ctx.get("from_contact_id") or contact_id)
            opened = scope_ids(
                self.session,
                organisation_id=org.id,
                cycle_id=cycle_id,
                owner_id=owner_id,
                phase=Phase(phase),
            )
            if opened:
                mcs = [self.session.get(MeasureCycle, mc_id) for mc_id in opened]
                shown["items"] = self._items(opened, org, lang)
        policy = DeadlinePolicy.model_validate(cycle.policy)
        cal = calendar_of(org)
        dues = [mc.due_on for mc in mcs if mc is not None and mc.due_on is not None]
        due = min(dues) if dues else None
        last_due = max(dues) if dues else cal.local_date(self.now)
        expires_day = last_due + timedelta(days=policy.link_valid_days_after_due)
        expires_at = cal.at_local(expires_day + timedelta(days=1), 0)
        if kind == "delegation" and ctx.get("delegation_id") is not None:
            delegation = self.session.get(Delegation, int(ctx["delegation_id"]))
            if delegation is None or delegation.status != DelegationStatus.ACTIVE.value:
                raise HandOverEnded(int(ctx["delegation_id"]))
            # The colleague answers in the owner's place: their link lives as long as the
            # owner's link that handed the form on (and never less than the phase's own).
            handed_by = self.session.get(FormToken, delegation.form_token_id)
            if handed_by is not None and handed_by.expires_at > expires_at:
                expires_at = handed_by.expires_at
                expires_day = cal.local_date(expires_at - timedelta(microseconds=1))
        if kind == "link_reissued":
            # The links that existed when the new one was asked for die only with this email:
            # if rendering or building it fails, the transaction rolls back and the contact's
            # working link stays. Links issued since (by other emails) stay valid.
            end_owner_scope(
                session=self.session,
                owner_id=contact_id,
                cycle_id=cycle_id,
                phase=Phase(phase),
                now=self.now,
                actor="email:link_reissued",
                reason="link_reissued",
                until=max(r.created_at for r in rows),
            )
        raw = issue_token(
            session=self.session,
            organisation_id=org.id,
            contact_id=contact_id,
            cycle_id=cycle_id,
            phase=Phase(phase),
            expires_at=expires_at,
            now=self.now,
            issued_by=f"email:{kind}",
            delegated_from_contact_id=ctx.get("from_contact_id") if kind == "delegation" else None,
            # Written with the chunk's other links when its transaction flushes (or by
            # ``write_links``): one INSERT for the chunk instead of a round trip per email.
            flush=False,
            into=self.pending_links,
        )
        return shown | {
            "form_url": form_url(self.settings.base_url, raw),
            "due_on": format_date(due, lang),
            "link_expires_on": format_date(expires_day, lang),
            # A request's subject names the year it asks about (issue 13).
            "cycle_year": cycle.year,
        }

    def _answerer(self, row: OutboxMessage, phase: str) -> str:
        """The name of whoever submitted the answer, from the answer row's actor."""
        model: type[TargetAgreement] | type[Review] = (
            Review if phase == "review" else TargetAgreement
        )
        actor = (
            self.session.scalars(
                select(model.submitted_by).where(model.measure_cycle_id == row.measure_cycle_id)
            ).first()
            or ""
        )
        kind, _, ident = actor.partition(":")
        contact = (
            self.session.get(Contact, int(ident)) if kind == "contact" and ident.isdigit() else None
        )
        return contact.name if contact else row.recipient_name

    def _confirmation(
        self, rows: list[OutboxMessage], org: Organisation, phase: str, lang: str
    ) -> dict[str, Any]:
        ctx = rows[0].context
        pairs = {
            mc_id: answer_pairs(self.session, mc_id, phase, lang)
            for mc_id in (r.measure_cycle_id for r in rows)
            if mc_id
        }
        items = self._items(list(pairs), org, lang)
        for item in items:
            item["answers"] = pairs.get(item["measure_cycle_id"], [])
        # The group has one submitter (``answered_by`` is part of its group key): named as the
        # catalogue names them now; rows queued before it was recorded read the answer row.
        answerer = self.session.get(Contact, int(ctx.get("answered_by") or 0))
        submitted_by = (
            answerer.name
            if answerer is not None
            else str(ctx.get("submitted_by") or self._answerer(rows[0], phase))
        )
        correction_url = (
            self._link(rows, org, phase, lang)["form_url"]
            if ctx.get("contact_id") and not for_colleague(ctx)
            else None
        )
        return {
            "items": items,
            "form_url": correction_url,
            "submitted_by": submitted_by,
            "on_behalf_of": ctx.get("on_behalf_of"),
            # The owner's copy of what a colleague answered in their place.
            "for_owner": bool(ctx.get("for_owner")),
        }


def sent_reminders(session: Session, mc_ids: Collection[int]) -> dict[int, int]:
    """How many reminders were sent per measure-in-cycle, zero included."""
    counts = dict.fromkeys(mc_ids, 0)
    rows = session.execute(
        select(OutboxMessage.measure_cycle_id, func.count())
        .where(
            OutboxMessage.measure_cycle_id.in_(set(mc_ids)),
            OutboxMessage.kind.in_(REMINDER_KINDS),
            OutboxMessage.status == "sent",
        )
        .group_by(OutboxMessage.measure_cycle_id)
    )
    counts.update((mc_id, n) for mc_id, n in rows if mc_id is not None)
    return counts


def items_for(
    session: Session,
    mc_ids: list[int],
    org: Organisation,
    lang: str,
    now: datetime,
    *,
    sent: Mapping[int, int] | None = None,
) -> list[dict[str, Any]]:
    """The template view of measures-in-cycle, sorted by field, goal and code. Rows already in
    the session are not read again; ``sent`` (reminders sent per id) spares its query."""
    if not mc_ids:
        return []
    cal = calendar_of(org)
    wanted = set(mc_ids)
    loaded = {i: session.identity_map.get(identity_key(MeasureCycle, i)) for i in wanted}
    missing = [i for i, mc in loaded.items() if mc is None]
    if missing:
        loaded.update(
            (mc.id, mc)
            for mc in session.scalars(select(MeasureCycle).where(MeasureCycle.id.in_(missing)))
        )
    mcs = [mc for mc in loaded.values() if isinstance(mc, MeasureCycle)]
    if sent is None:
        sent = sent_reminders(session, wanted)
    items = []
    for mc in mcs:
        m = mc.measure
        state = State(mc.state)
        items.append(
            {
                "measure_cycle_id": mc.id,
                "code": m.code,
                "title": m.title,
                "goal_code": m.goal.code,
                "goal_name": m.goal.name,
                "field_code": m.goal.field.code,
                "field_name": m.goal.field.name,
                "due_on": format_date(mc.due_on, lang) or None,
                "days_overdue": days_overdue(mc.due_on, now, cal),
                "state_label": LABELS_DE[state] if lang == "de" else STATE_LABELS_EN[state],
                "reminders_sent": int(sent.get(mc.id, 0)),
                "department": m.department.name,
                "stay": mc.stay,
                "state": mc.state,
            }
        )
    return sorted(items, key=lambda i: (i["field_code"], i["goal_code"], i["code"]))
