"""What a digest shows of its items, in the reader's language: the templates' item views.

Reads the measures, indicators, decisions, status checks and meetings the items name; never decides which
items a digest lists and never writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from notifications.digest_items import (
    DECISION,
    INDICATOR,
    MEASURE,
    STATUS_CHECK,
    OpenItem,
    Resolution,
)
from notifications.models import OutboxMessage, OutboxStatus
from notifications.render import STATE_LABELS_EN, format_date, items_for
from workflow.bodies.models import Meeting
from workflow.catalogue.models import Contact, Goal, Measure, Organisation
from workflow.cycles.calendar import calendar_of
from workflow.cycles.models import MeasureCycle
from workflow.deadlines import days_overdue
from workflow.decisions.models import Decision
from workflow.indicators.mail import period_label
from workflow.indicators.models import DataRequest
from workflow.machine import LABELS_DE, State
from workflow.meetings.queries import agenda_of
from workflow.status_checks.models import StatusCheckItem, StatusCheckRequest

REMINDER_KINDS = ("reminder", "final_reminder")
WORDS: dict[str, dict[str, str]] = {
    "de": {
        "level": "Eskalationsstufe {n}",
        "reminders_one": "1 Erinnerung",
        "reminders_many": "{n} Erinnerungen",
        "last": ", zuletzt am {day}",
        "now": "jetzt: {state}",
        "delivered": "geliefert",
        "cancelled": "nicht mehr angefordert",
        "extended": "neue Frist",
        "done": "erledigt",
        "missing_target_agreement": "Zielvereinbarung fehlt",
        "missing_review": "Rückmeldung zur Zielerreichung fehlt",
        "status_check": "Sachstandsabfrage vom {opened}, fällig am {due}: "
        "keine Antwort von {name} zu {codes}",
        "answered": "beantwortet",
        "closed": "Abfrage beendet",
    },
    "en": {
        "level": "escalation level {n}",
        "reminders_one": "1 reminder",
        "reminders_many": "{n} reminders",
        "last": ", last on {day}",
        "now": "now: {state}",
        "delivered": "delivered",
        "cancelled": "no longer requested",
        "extended": "new deadline",
        "done": "done",
        "missing_target_agreement": "target agreement missing",
        "missing_review": "review of achievement missing",
        "status_check": "Status check of {opened}, due on {due}: no answer from {name} on {codes}",
        "answered": "answered",
        "closed": "check closed",
    },
}
DECISION_KINDS = {
    "de": {
        "resolution": "Beschluss",
        "recommendation": "Empfehlung",
        "assignment": "Auftrag",
        "change_proposal": "Änderungsvorschlag",
    },
    "en": {
        "resolution": "Resolution",
        "recommendation": "Recommendation",
        "assignment": "Task",
        "change_proposal": "Change proposal",
    },
}
DECISION_STATUS = {
    "de": {"open": "offen", "in_progress": "in Bearbeitung", "done": "erledigt"},
    "en": {"open": "open", "in_progress": "in progress", "done": "done"},
}


def state_label(state: str, lang: str) -> str:
    return LABELS_DE[State(state)] if lang == "de" else STATE_LABELS_EN[State(state)]


_PREFETCH = 500  # stays per statement
_STAYS_WITH_MEASURES = (
    select(MeasureCycle)
    .where(MeasureCycle.id.in_(bindparam("ids", expanding=True)))
    .options(
        joinedload(MeasureCycle.measure).joinedload(Measure.goal).joinedload(Goal.field),
        joinedload(MeasureCycle.measure).joinedload(Measure.department),
    )
)


def _reminder_times(session: Session, mc_ids: list[int]) -> dict[int, list[datetime | None]]:
    """When each stay's reminders were sent, in order."""
    out: dict[int, list[datetime | None]] = {}
    rows = session.execute(
        select(OutboxMessage.measure_cycle_id, OutboxMessage.sent_at)
        .where(
            OutboxMessage.measure_cycle_id.in_(mc_ids),
            OutboxMessage.kind.in_(REMINDER_KINDS),
            OutboxMessage.status == OutboxStatus.SENT.value,
        )
        .order_by(OutboxMessage.measure_cycle_id, OutboxMessage.sent_at)
    )
    for mc_id, sent_at in rows:
        if mc_id is not None:
            out.setdefault(mc_id, []).append(sent_at)
    return out


class DigestViews:
    """Builds item views for one body's digests at one moment, once per language."""

    def __init__(self, session: Session, org: Organisation, now: datetime) -> None:
        self.session = session
        self.org = org
        self.now = now
        self.cal = calendar_of(org)
        self._cache: dict[tuple[str, str], dict[str, Any]] = {}

    # -- open items ---------------------------------------------------------------------

    def open_view(self, item: OpenItem, lang: str) -> dict[str, Any]:
        key = (item.key, lang)
        if key not in self._cache:
            if item.kind == MEASURE:
                self._cache[key] = self._measure(item, lang)
            elif item.kind == INDICATOR:
                self._cache[key] = self._indicator(item.ref_id, item.level, lang)
            elif item.kind == STATUS_CHECK:
                self._cache[key] = self._status_check(
                    item.ref_id, item.measure_ids, item.level, lang
                )
            else:
                self._cache[key] = self._decision(item.ref_id, item.level, lang)
        return dict(self._cache[key])

    def _level(self, level: int, lang: str) -> str:
        return WORDS[lang]["level"].format(n=level) if level else ""

    def prefetch(self, items: Iterable[OpenItem], lang: str) -> None:
        """Build the views of the measures among ``items`` together: a digest of a thousand
        escalated measures reads their stays and reminders in a few statements, not in a few
        per measure."""
        wanted = {
            i.ref_id: i for i in items if i.kind == MEASURE and (i.key, lang) not in self._cache
        }
        ids = sorted(wanted)
        for first in range(0, len(ids), _PREFETCH):
            chunk = ids[first : first + _PREFETCH]
            # Held here: the session's identity map keeps rows only weakly, and items_for
            # finds them there instead of reading each again.
            stays = list(self.session.scalars(_STAYS_WITH_MEASURES, {"ids": chunk}))
            sent = _reminder_times(self.session, chunk)
            counts = {mc_id: len(sent.get(mc_id, [])) for mc_id in chunk}
            views = items_for(self.session, chunk, self.org, lang, self.now, sent=counts)
            for view in views:
                item = wanted[view["measure_cycle_id"]]
                self._cache[(item.key, lang)] = self._measure_view(
                    view, item, sent.get(item.ref_id, []), lang
                )
            del stays

    def _measure(self, item: OpenItem, lang: str) -> dict[str, Any]:
        view = items_for(self.session, [item.ref_id], self.org, lang, self.now)[0]
        sent = _reminder_times(self.session, [item.ref_id]).get(item.ref_id, [])
        return self._measure_view(view, item, sent, lang)

    def _measure_view(
        self, view: dict[str, Any], item: OpenItem, sent: list[datetime | None], lang: str
    ) -> dict[str, Any]:
        words = WORDS[lang]
        n = len(sent)
        history = words["reminders_one"] if n == 1 else words["reminders_many"].format(n=n)
        if sent and sent[-1]:
            history += words["last"].format(day=format_date(self.cal.local_date(sent[-1]), lang))
        missing = words.get(f"missing_{view['state']}")
        if missing:
            history += f"; {missing}"
        return {**view, "level_label": self._level(item.level, lang), "history": history}

    def _indicator(self, request_id: int, level: int, lang: str) -> dict[str, Any]:
        request = self.session.get(DataRequest, request_id)
        assert request is not None
        indicator = request.indicator
        source = self.session.get(Contact, request.contact_id)
        return {
            "code": indicator.code,
            "title": indicator.statement,
            "period_label": period_label(request.period, lang),
            "due_on": format_date(request.due_on, lang),
            "days_overdue": days_overdue(request.due_on, self.now, self.cal),
            "source": source.name if source else "",
            "level_label": self._level(level, lang),
            "path": f"/kennzahlen/{indicator.id}",
            "resolution": None,
        }

    def _decision(self, decision_id: int, level: int, lang: str) -> dict[str, Any]:
        decision = self.session.get(Decision, decision_id)
        assert decision is not None
        meeting = self.session.get(Meeting, decision.meeting_id)
        contact = self.session.get(Contact, decision.contact_id) if decision.contact_id else None
        return {
            "kind_label": DECISION_KINDS[lang].get(decision.kind, decision.kind),
            "text": decision.text,
            "meeting_on": format_date(meeting.held_on if meeting else None, lang),
            "due_on": format_date(decision.due_on, lang),
            # Signed: a decision enters the digest before it is due.
            "days_overdue": (
                (self.cal.local_date(self.now) - decision.due_on).days if decision.due_on else 0
            ),
            "status_label": DECISION_STATUS[lang].get(decision.status, decision.status),
            "contact_name": contact.name if contact else "",
            "level_label": self._level(level, lang),
            "path": f"/sitzungen/{decision.meeting_id}",
            "resolution": None,
        }

    def _status_check(
        self, request_id: int, measure_ids: list[int], level: int, lang: str
    ) -> dict[str, Any]:
        """One line per part: the check, its due date, who has not answered on which measures
        (those in the body's scope; all of the part's once it has ended)."""
        request = self.session.get(StatusCheckRequest, request_id)
        assert request is not None
        check = request.status_check
        stmt = (
            select(Measure.code)
            .join(StatusCheckItem, StatusCheckItem.measure_id == Measure.id)
            .where(StatusCheckItem.request_id == request.id)
            .order_by(Measure.code)
        )
        if measure_ids:
            stmt = stmt.where(Measure.id.in_(measure_ids))
        codes = list(self.session.scalars(stmt))
        line = WORDS[lang]["status_check"].format(
            opened=format_date(self.cal.local_date(check.created_at), lang),
            due=format_date(request.due_on, lang),
            name=request.contact.name,
            codes=", ".join(codes),
        )
        return {
            "line": line,
            "code": codes[0] if codes else "",
            "days_overdue": days_overdue(request.due_on, self.now, self.cal),
            "level_label": self._level(level, lang),
            "path": f"/sachstandsabfragen/{check.id}",
            "resolution": None,
        }

    # -- resolved items -----------------------------------------------------------------

    def resolved_view(self, item: Resolution, lang: str) -> dict[str, Any]:
        words = WORDS[lang]
        if item.kind == MEASURE:
            view = items_for(self.session, [item.ref_id], self.org, lang, self.now)[0]
            return {**view, "resolution": words["now"].format(state=view["state_label"])}
        if item.kind == INDICATOR:
            view = self._indicator(item.ref_id, 0, lang)
        elif item.kind == STATUS_CHECK:
            view = self._status_check(item.ref_id, [], 0, lang)
        else:
            assert item.kind == DECISION
            view = self._decision(item.ref_id, 0, lang)
        return {**view, "resolution": words.get(item.state, item.state)}

    # -- the meeting --------------------------------------------------------------------

    def meeting_view(self, meeting: Meeting, lang: str) -> dict[str, Any]:
        return {
            "date": format_date(meeting.held_on, lang),
            "time": meeting.starts_at or "",
            "place": meeting.place,
            "title": meeting.title,
            "agenda": [a.title for a in agenda_of(self.session, meeting.id)],
            "path": f"/sitzungen/{meeting.id}",
            "pack_path": f"/sitzungen/{meeting.id}/unterlage",
        }
