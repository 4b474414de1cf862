"""The "Sachstand erfragen" form of one measure as a page shows it: whether the reader may ask,
whether there is anyone to ask, and when the reader last asked. Reads only.

The form posts to /massnahmen/{id}/sachstand (api/dashboard/my_bodies.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from api.deps import organisation_of, today_of
from workflow.accounts import User
from workflow.bodies.scope_access import may_ask
from workflow.bodies.status_request import NOTE_LIMIT, last_request
from workflow.cycles.models import MeasureCycle

# The value of the form's "back" field on /mein-gremium; anything else means the measure page.
BACK_TO_MY_BODIES = "mein-gremium"


@dataclass(frozen=True)
class AskBox:
    item_id: int
    code: str
    has_contact: bool
    asked_at: datetime | None  # the reader's last request for this measure, if any
    note_limit: int = NOTE_LIMIT

    @property
    def key(self) -> str:
        """Unique on the measure page, which shows one form."""
        return str(self.item_id)


def ask_box(session: Session, *, user: User, item_id: int) -> AskBox | None:
    """The form for the measure page, or None when the user may not ask about this measure."""
    mc = session.get(MeasureCycle, item_id)
    if mc is None or mc.organisation_id != user.organisation_id:
        return None
    today = today_of(organisation_of(session, user))
    if not may_ask(session, user=user, field_id=mc.measure.goal.field_id, day=today):
        return None
    return AskBox(
        item_id=item_id,
        code=mc.measure.code,
        has_contact=mc.measure.contact_id is not None,
        asked_at=last_request(session, measure_id=mc.measure_id, user_id=user.id),
    )
