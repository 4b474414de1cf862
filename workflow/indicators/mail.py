"""What the data-delivery emails show: the requests, their values, and a form link made now.

Called by ``notifications.render`` at send time, because a raw link token may exist only in
the email itself. Reads the database and issues tokens; never sends and never queues.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifications.models import OutboxMessage
from notifications.outbox_search import key_matches
from notifications.receipts import for_colleague
from workflow.catalogue.models import Contact, Organisation
from workflow.cycles.calendar import calendar_of
from workflow.deadlines import days_overdue
from workflow.forms.models import Delegation, DelegationStatus
from workflow.forms.tokens import Phase, form_url, issue_token
from workflow.indicators import rhythm
from workflow.indicators.breakdown import cell_label
from workflow.indicators.dimensions import dimensions_of, labels
from workflow.indicators.models import DataRequest, IndicatorValue, Unit
from workflow.indicators.requests import policy_for
from workflow.reports import english, german
from workflow.terms import terms_for

DATA_KINDS = {
    "data_request",
    "data_reminder",
    "data_final_reminder",
    "data_escalation_head",
    "confirmation_data",
    "data_deadline_extended",
    "data_delegation",
    "data_delegation_notice",
}
LINK_KINDS = {
    "data_request",
    "data_reminder",
    "data_final_reminder",
    "confirmation_data",
    "data_deadline_extended",
    "data_delegation",
}
UNIT_LABELS = {
    "de": {
        Unit.PERCENT: "Prozent",
        Unit.COUNT: "Anzahl",
        Unit.RATE: "Quote/Verhältnis",
        Unit.CURRENCY: "Euro",
        Unit.INDEX: "Indexwert",
        Unit.SCALE: "Befragung (Skala 1–5)",
        Unit.TEXT: "Bericht",
    },
    "en": {
        Unit.PERCENT: "per cent",
        Unit.COUNT: "count",
        Unit.RATE: "rate/ratio",
        Unit.CURRENCY: "euros",
        Unit.INDEX: "index value",
        Unit.SCALE: "survey (scale 1–5)",
        Unit.TEXT: "written report",
    },
}
WORDS = {
    "de": {
        "survey_date": "Erhebungsdatum",
        "city": "Gesamtstadt",
        "counts": "Antworten auf Stufe 1–5",
        "mean": "Mittelwert",
        "report": "Bericht",
        "comment": "Anmerkung",
        "flag": "ungewöhnlich weit vom bisherigen Verlauf – bitte prüfen",
    },
    "en": {
        "survey_date": "Survey date",
        "city": "whole city",
        "counts": "Answers on points 1–5",
        "mean": "mean",
        "report": "Report",
        "comment": "Comment",
        "flag": "unusually far from the series so far – please check",
    },
}


def format_date(day: date | None, lang: str) -> str:
    """As a letter writes it: "31 December 2027" in English, 31.12.2027 in German."""
    if day is None:
        return ""
    return english.long_day(day) if lang == "en" else day.strftime("%d.%m.%Y")


def period_label(period: str, lang: str) -> str:
    """A month "2026-03" as "März 2026" or "March 2026"; anything else stays as it came."""
    year, _, month = period.partition("-")
    if not month.isdigit() or not 1 <= int(month) <= 12:
        return period
    name = english.month(int(month)) if lang == "en" else german.MONTHS[int(month) - 1]
    return f"{name} {year}"


def request_period_label(request: DataRequest, lang: str) -> str:
    """What the asked value describes: "Kalenderjahr 2027", "1. Halbjahr 2027" …; a request
    opened before rhythms knew its reference shows its due month, as it always did."""
    if request.reference_start is None or request.reference_end is None:
        return period_label(request.period, lang)
    return rhythm.reference_label(request.reference_start, request.reference_end, lang)


def request_delivery_label(request: DataRequest, lang: str) -> str:
    """ "Lieferung bis 15.02.2028" when the value describes another period than the month it
    was asked for; empty otherwise (then the period already says when)."""
    start, end = request.reference_start, request.reference_end
    if start is None or end is None or rhythm.describes_month(start, end, request.period):
        return ""
    return rhythm.delivery_label(request.due_on, lang)


def format_number(value: float | None, unit: str, lang: str) -> str:
    """German (1.234,5) or English (1,234.5) notation, with the unit's sign."""
    if value is None:
        return "–"
    decimals = {Unit.COUNT: 0, Unit.PERCENT: 1}.get(Unit(unit), 2)
    text = f"{value:,.{decimals}f}"
    if lang == "de":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    if unit == Unit.PERCENT:
        return f"{text} %"
    if unit == Unit.CURRENCY:
        return f"{text} €"
    return text


def unit_label(unit: str, lang: str) -> str:
    return UNIT_LABELS["en" if lang == "en" else "de"].get(Unit(unit), unit)


def data_context(
    session: Session,
    *,
    base_url: str,
    now: datetime,
    rows: list[OutboxMessage],
    org: Organisation,
    lang: str,
) -> dict[str, Any]:
    kind = rows[0].kind
    ids = sorted({int(r.context["data_request_id"]) for r in rows})
    requests = sorted(
        session.scalars(select(DataRequest).where(DataRequest.id.in_(ids))).unique(),
        key=lambda r: (r.indicator.code, r.period),
    )
    cal = calendar_of(org)
    sent = _reminders_sent(session, ids)
    items = []
    for request in requests:
        indicator = request.indicator
        item: dict[str, Any] = {
            "code": indicator.code,
            "title": indicator.statement,
            "period_label": request_period_label(request, lang),
            "delivery_label": request_delivery_label(request, lang),
            "unit_label": unit_label(indicator.unit, lang),
            "due_on": format_date(request.due_on, lang),
            "days_overdue": days_overdue(request.due_on, now, cal),
            "reminders_sent": sent.get(request.id, 0),
        }
        if kind == "confirmation_data":
            item["answers"] = delivered_pairs(session, request, lang)
        items.append(item)
    context: dict[str, Any] = {"items": items}
    contact = session.get(Contact, int(rows[0].context["contact_id"]))
    assert contact is not None
    if kind in ("data_delegation", "data_delegation_notice"):
        context |= _handover(session, rows[0])
    if kind == "confirmation_data" and for_colleague(rows[0].context):
        context["form_url"] = None  # never the owner's own link (``notifications.receipts``)
    elif kind in LINK_KINDS:
        owner = context.get("owner_id") if kind == "data_delegation" else None
        context |= _link(session, base_url, now, org, contact, requests, kind, lang, owner)
    if kind == "data_escalation_head":
        context |= {"contact_name": contact.name, "contact_email": contact.email}
    if kind == "confirmation_data":
        # One submitter per email (``answered_by`` is part of the group key), named as now.
        answerer = session.get(Contact, int(rows[0].context.get("answered_by") or 0))
        fallback = str(rows[0].context.get("submitted_by") or contact.name)
        context["submitted_by"] = answerer.name if answerer is not None else fallback
        context["on_behalf_of"] = rows[0].context.get("on_behalf_of")
        context["for_owner"] = bool(rows[0].context.get("for_owner"))
    if kind == "data_deadline_extended":
        context["reason"] = str(rows[0].context.get("reason") or "")
    return context


def _reminders_sent(session: Session, ids: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for request_id in ids:
        out[request_id] = int(
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    key_matches(OutboxMessage.dedupe_key, f"dr:{request_id}:", ":reminder:", ""),
                    OutboxMessage.status == "sent",
                )
            )
            or 0
        )
    return out


def _link(
    session: Session,
    base_url: str,
    now: datetime,
    org: Organisation,
    contact: Contact,
    requests: list[DataRequest],
    kind: str,
    lang: str,
    delegated_from: int | None = None,
) -> dict[str, Any]:
    cal = calendar_of(org)
    policy = policy_for(session, org.id)
    dues = [r.due_on for r in requests]
    last = max([*dues, cal.local_date(now)]) if kind == "confirmation_data" else max(dues)
    expires_day = last + timedelta(days=policy.link_valid_days_after_due)
    raw = issue_token(
        session=session,
        organisation_id=org.id,
        contact_id=contact.id,
        cycle_id=None,
        phase=Phase.DATA_DELIVERY,
        expires_at=cal.at_local(expires_day + timedelta(days=1), 0),
        now=now,
        issued_by=f"email:{kind}",
        delegated_from_contact_id=delegated_from,
    )
    return {
        "form_url": form_url(base_url, raw),
        "due_on": format_date(min(dues), lang),
        "link_expires_on": format_date(expires_day, lang),
    }


class HandOverEnded(Exception):
    """A hand-over's email whose hand-over ended after it was queued: it must not go out."""


def _handover(session: Session, row: OutboxMessage) -> dict[str, Any]:
    """Who handed the data form to whom, from the hand-over as it stands now."""
    delegation = session.get(Delegation, int(row.context.get("delegation_id") or 0))
    if delegation is None:
        raise HandOverEnded(row.context.get("delegation_id"))
    if row.kind == "data_delegation" and delegation.status != DelegationStatus.ACTIVE.value:
        raise HandOverEnded(delegation.id)
    owner = session.get(Contact, delegation.owner_contact_id)
    assert owner is not None, "foreign key"
    return {
        "owner_id": owner.id,
        "from_name": owner.name,
        "from_email": owner.email,
        "delegate_name": delegation.delegate_name,
        "delegate_email": delegation.delegate_email,
    }


def delivered_pairs(session: Session, request: DataRequest, lang: str) -> list[list[str]]:
    """The values delivered for ``request`` as (label, value) pairs, for the confirmation."""
    words = WORDS["en" if lang == "en" else "de"]
    # The whole area in the organisation's word (Gesamtstadt, Kreisgebiet …).
    area = terms_for(session.get(Organisation, request.organisation_id), lang).area
    unit = request.indicator.unit
    rows = sorted(
        session.scalars(select(IndicatorValue).where(IndicatorValue.data_request_id == request.id)),
        key=lambda v: (v.district != "", v.district, v.cell),
    )
    if not rows:
        return []
    names = labels(dimensions_of(session, request.organisation_id))
    pairs = [[words["survey_date"], format_date(rows[0].survey_date, lang)]]
    for row in rows:
        flag = f" ({words['flag']})" if row.flagged else ""
        if unit == Unit.TEXT:
            pairs.append([words["report"], row.report])
        elif unit == Unit.SCALE:
            counts = " / ".join(str(c) for c in row.counts or [])
            mean = format_number(row.value, unit, lang)
            pairs.append([words["counts"], f"{counts} ({words['mean']} {mean}){flag}"])
        else:
            label = row.district or area
            if row.cell:
                label = f"{label}, {cell_label(row.cell, names)}"
            pairs.append([label, format_number(row.value, unit, lang) + flag])
    if rows[0].comment:
        pairs.append([words["comment"], rows[0].comment])
    return pairs
