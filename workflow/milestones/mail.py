"""What the "Meilenstein erreicht?" email shows: the measure, the milestone, two answer links.

Called by ``notifications.render`` at send time, because a raw link token may exist only in
the email itself: each milestone gets its own token (phase ``milestone``), whose link opens a
page that asks before it records anything. Reads and issues tokens; never sends, never queues.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from notifications.models import OutboxMessage
from workflow.catalogue.models import Organisation
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import MeasureCycle
from workflow.forms.tokens import Phase, form_url, issue_token
from workflow.indicators.mail import format_date
from workflow.milestones.models import Milestone
from workflow.milestones.sweep import KIND

MILESTONE_KINDS = {KIND}
# The answer links work this long after the email: long enough for holidays, short enough
# that a forwarded old email does not answer next year's question.
LINK_DAYS = 60


def milestone_context(
    session: Session,
    *,
    base_url: str,
    now: datetime,
    rows: list[OutboxMessage],
    org: Organisation,
    lang: str,
) -> dict[str, Any]:
    cal = calendar_of(org)
    expires_day = cal.local_date(now) + timedelta(days=LINK_DAYS)
    expires_at = cal.at_local(expires_day + timedelta(days=1), 0)
    items = []
    for row in rows:
        milestone = session.get(Milestone, int(row.context["milestone_id"]))
        assert milestone is not None, "a milestone email names its milestone"
        mc = session.get(MeasureCycle, milestone.measure_cycle_id)
        assert mc is not None
        raw = issue_token(
            session=session,
            organisation_id=org.id,
            contact_id=int(row.context["contact_id"]),
            cycle_id=mc.cycle_id,
            phase=Phase.MILESTONE,
            expires_at=expires_at,
            now=now,
            issued_by=f"email:{KIND}",
            milestone_id=milestone.id,
        )
        url = form_url(base_url, raw)
        items.append(
            {
                "code": mc.measure.code,
                "title": mc.measure.title,
                "text": milestone.text,
                "due_on": format_date(_asked_for(row, milestone), lang),
                "yes_url": f"{url}?antwort=ja",
                "new_url": f"{url}?antwort=neu",
            }
        )
    items.sort(key=lambda i: str(i["code"]))
    return {"items": items, "link_expires_on": format_date(expires_day, lang)}


def _asked_for(row: OutboxMessage, milestone: Milestone) -> date:
    """The date the question was about (the row's), even if the milestone moved since."""
    try:
        return date.fromisoformat(str(row.context.get("due_on")))
    except ValueError:
        return milestone.due_on
