"""Who may read which mail the demo's SMTP sink caught; reads the outbox, never the files.

The viewer is a demo tool: it exists only in the ``development`` environment. A caught mail
is matched to the outbox rows it was sent for by its Message-ID (the sender fixes it on the
rows before sending); a mail is shown only if every row it was sent for belongs to the
viewer's organisation, and a password-reset mail only to an admin. A mail that matches no
row (sent by someone else, or its rows are gone) is shown to nobody.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.models import OutboxMessage
from workflow.accounts import Role, User
from workflow.config import Settings

ADMIN_ONLY_KINDS = frozenset({"password_reset"})


def viewer_enabled(settings: Settings) -> bool:
    return settings.environment == "development"


def readable(session: Session, *, user: User, message_ids: Iterable[str]) -> set[str]:
    """The Message-IDs among ``message_ids`` whose mail ``user`` may read."""
    wanted = {m for m in message_ids if m}
    if not wanted:
        return set()
    verdict: dict[str, bool] = {}
    rows = session.execute(
        select(OutboxMessage.message_id, OutboxMessage.organisation_id, OutboxMessage.kind).where(
            OutboxMessage.message_id.in_(wanted)
        )
    )
    for message_id, organisation_id, kind in rows:
        if message_id is None:
            continue
        allowed = organisation_id == user.organisation_id and (
            kind not in ADMIN_ONLY_KINDS or user.role == Role.ADMIN.value
        )
        # One email may carry several rows (a digest of items): every one must be readable.
        verdict[message_id] = verdict.get(message_id, True) and allowed
    return {m for m, ok in verdict.items() if ok}
