"""Receipts for submitted answers: who gets which copy when a form was handed on (issue 13).

Each submitter gets a receipt of what they submitted; after a hand-over the owner gets a copy
of what was answered in their place, naming the colleague. The rows carry ``answered_by`` and
``answered_for`` so that rows of different submitters, or of different owners' forms, never
share an email (``notifications.sender.group_key``).
Builds and queues outbox rows only: never renders, sends or commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import update
from sqlalchemy.orm import Session

from notifications.models import OutboxMessage, OutboxStatus
from notifications.outbox import Draft, enqueue


class Person(Protocol):
    """A contact as far as a receipt needs it (kept free of the domain's models)."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def email(self) -> str: ...
    @property
    def language(self) -> str: ...


def for_colleague(context: Mapping[str, Any]) -> bool:
    """A colleague's receipt: it must never carry a link of the owner's own (their correction
    link is the one they were handed, which ends with the hand-over)."""
    return bool(context.get("for_colleague"))


def receipts(owners: Draft, *, answerer: Person, owner: Person) -> list[Draft]:
    """The owner's receipt (as queued by the form's own rules) and, after a hand-over, the
    colleague's: keyed by who answered, so two submitters never share a row."""
    handed_on = answerer.id != owner.id
    marks = {
        "answered_by": answerer.id,
        # Whose form it was: a colleague's own answers and those given for an owner (or for
        # two owners) never share an email either.
        "answered_for": owner.id if handed_on else None,
        "on_behalf_of": owner.name if handed_on else None,
    }
    own = replace(owners, context={**owners.context, **marks, "for_owner": handed_on})
    if not handed_on:
        return [own]
    theirs = replace(
        owners,
        dedupe_key=f"{owners.dedupe_key}:by:{answerer.id}",
        recipient_email=answerer.email,
        recipient_name=answerer.name,
        language=answerer.language,
        context={
            **owners.context,
            **marks,
            "for_owner": False,
            "for_colleague": True,
            "recipient_contact_id": answerer.id,
        },
    )
    return [own, theirs]


def queue_receipts(
    session: Session, owners: Draft, *, answerer: Person, owner: Person, now: datetime
) -> None:
    """Queue the receipts. An owner's receipt that a move queued already under the same key
    (``notifications.effects``) is not queued twice: it learns here who answered."""
    drafts = receipts(owners, answerer=answerer, owner=owner)
    enqueue(session, drafts, now=now)
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.dedupe_key == drafts[0].dedupe_key,
            OutboxMessage.status == OutboxStatus.PENDING.value,
        )
        .values(context=drafts[0].context)
        .execution_options(synchronize_session=False)
    )
