"""Who an outbox row goes to at the moment it is sent: the contact's current address, not the queued one.

A row that belongs to a contact (``recipient_contact_id`` in its context, or the contact its
kind is always addressed to) takes that contact's address, name and language now, so a
corrected address catches every queued and resent message. A hand-over's invitation whose
hand-over has ended is withdrawn instead, and so is a row whose address is reported as
bouncing in its organisation (notifications/bounces): the coordinators learn of it from the
daily ``bounce_notice``, not from one dead-letter notice per row. Display names lose line
breaks and control characters, which no mail header may carry. Reads and updates the claimed
rows; never sends.
"""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from notifications.bounces import state as bounce_state
from notifications.models import OutboxMessage
from workflow.catalogue.models import Contact
from workflow.forms.models import Delegation, DelegationStatus

# Kinds addressed to the contact named by ``contact_id`` (queued before rows carried
# ``recipient_contact_id``); escalations go to heads and are left as queued.
TO_CONTACT = frozenset(
    {
        "invitation_agreement",
        "review_request",
        "reminder",
        "final_reminder",
        "deadline_extended",
        "link_reissued",
        "confirmation_agreement",
        "confirmation_review",
        "delegation_notice",
        "data_request",
        "data_reminder",
        "data_final_reminder",
        "confirmation_data",
        "data_deadline_extended",
        # "Meilenstein erreicht?": its context names the contact, whose address may change.
        "milestone_due",
    }
)
# Invitations that carry a hand-over's link (a status check's own invitation carries no
# ``delegation_id`` and is never withdrawn here).
HANDOVER_INVITATIONS = frozenset({"delegation", "data_delegation", "status_check_request"})
WITHDRAWN = "zurückgezogen: die Weitergabe wurde beendet"
UNDELIVERABLE = "unzustellbar: die Adresse ist als nicht erreichbar gemeldet"
# Sent even to a bouncing address: what a person asked for just now (a reset, a new link),
# and the notices about failed mail themselves, which go to the coordinators.
BOUNCE_EXEMPT = frozenset({"password_reset", "link_request", "dead_letter", "bounce_notice"})
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def recipient_contact_id(row: OutboxMessage) -> int | None:
    ctx = row.context or {}
    ident = ctx.get("recipient_contact_id")
    if ident is None and row.kind == "delegation":
        ident = ctx.get("delegate_contact_id")
    if ident is None and row.kind in TO_CONTACT:
        ident = ctx.get("contact_id")
    return int(ident) if isinstance(ident, int | str) and str(ident).isdigit() else None


def display_name(name: str) -> str:
    return " ".join(_UNPRINTABLE.sub(" ", name or "").split())[:200]


def is_withdrawn(session: Session, row: OutboxMessage) -> bool:
    """An invitation of a hand-over that is no longer active must not go out."""
    ident = (row.context or {}).get("delegation_id")
    if row.kind not in HANDOVER_INVITATIONS or ident is None:
        return False
    delegation = session.get(Delegation, int(ident))
    return delegation is None or delegation.status != DelegationStatus.ACTIVE.value


def resolve(session: Session, rows: list[OutboxMessage]) -> list[OutboxMessage]:
    """Point each row at its contact's current address; returns the rows that are withdrawn,
    each with its reason in ``last_error``."""
    withdrawn = []
    for row in rows:
        if is_withdrawn(session, row):
            row.last_error = WITHDRAWN
            withdrawn.append(row)
            continue
        ident = recipient_contact_id(row)
        contact = session.get(Contact, ident) if ident is not None else None
        if contact is not None and contact.organisation_id == row.organisation_id:
            row.recipient_email = contact.email
            row.recipient_name = contact.name
            row.language = contact.language
        row.recipient_name = display_name(row.recipient_name)
    for row in _bouncing(session, [r for r in rows if r not in withdrawn]):
        row.last_error = UNDELIVERABLE
        withdrawn.append(row)
    return withdrawn


def _bouncing(session: Session, rows: list[OutboxMessage]) -> list[OutboxMessage]:
    """The rows whose (resolved) address bounces; one query per organisation in the claim."""
    by_org: dict[int, list[OutboxMessage]] = {}
    for row in rows:
        if row.kind not in BOUNCE_EXEMPT and row.recipient_email:
            by_org.setdefault(row.organisation_id, []).append(row)
    out = []
    for org_id, candidates in by_org.items():
        bad = bounce_state.bouncing(session, org_id, [r.recipient_email for r in candidates])
        out += [r for r in candidates if r.recipient_email.strip().lower() in bad]
    return out
