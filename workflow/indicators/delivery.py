"""What a data-delivery link may see and submit: its owner's open and correctable requests.

Every query of the data-delivery form goes through here, so a link never reaches another
source's requests. After a hand-over a colleague's link opens the owner's requests and
delivers in the colleague's name. It never decides whether a token is valid
(``tokens.look_up`` does) and never commits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from notifications.receipts import queue_receipts
from workflow.catalogue.models import Contact, Organisation
from workflow.clock import Clock
from workflow.cycles.calendar import calendar_of
from workflow.forms.tokens import FormToken
from workflow.forms.validation import FieldError, without_control_characters
from workflow.indicators import series
from workflow.indicators.breakdown import cell_label, cells_of, ordered_rank
from workflow.indicators.dimensions import dimensions_of, indicator_dimensions, labels
from workflow.indicators.drafts import discard_data_drafts, save_data_drafts
from workflow.indicators.models import (
    DataDraft,
    DataRequest,
    IndicatorValue,
    RequestStatus,
    Rhythm,
)
from workflow.indicators.requests import confirmation, policy_for
from workflow.indicators.service import Delivered, deliver, history_before, numeric_value
from workflow.indicators.validation import (
    BASE_FIELDS,
    CheckedDelivery,
    Entry,
    cell_prefix,
    check_delivery,
)

_POSTED = re.compile(r"^r-(\d{1,9})-([a-z0-9_-]+)$")
MAX_FIELD = 10_001  # one more than allowed, so validation can still say "too long"
HISTORY_SHOWN = 4

RawAnswers = dict[str, str]


@dataclass
class DataScope:
    token: FormToken
    contact: Contact  # who holds the link and delivers
    organisation: Organisation
    owner: Contact  # whose requests the link opens (differs after a hand-over)

    @property
    def actor(self) -> str:
        return f"contact:{self.contact.id}"


@dataclass
class RequestItem:
    request: DataRequest
    values: list[IndicatorValue]  # what this request delivered, city-wide first
    history: list[IndicatorValue] = field(default_factory=list)  # earlier city-wide values
    draft: DataDraft | None = None  # what was typed and not yet delivered
    # The cells of the indicator's breakdowns (the total not among them) and their labels.
    cells: list[str] = field(default_factory=list)
    cell_labels: dict[str, str] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.request.status == RequestStatus.OPEN.value


def scope_of(session: Session, token: FormToken) -> DataScope:
    contact = session.get(Contact, token.contact_id)
    owner = session.get(Contact, token.delegated_from_contact_id or token.contact_id)
    org = session.get(Organisation, token.organisation_id)
    assert contact and owner and org, "foreign keys guarantee these rows"
    return DataScope(token, contact, org, owner)


def items_in_scope(
    session: Session, scope: DataScope, *, today: date, lock: bool = False
) -> list[RequestItem]:
    """The contact's open requests, and the delivered ones still inside the link window."""
    policy = policy_for(session, scope.organisation.id)
    oldest_due = today - timedelta(days=policy.link_valid_days_after_due)
    query = (
        select(DataRequest)
        .where(
            DataRequest.organisation_id == scope.organisation.id,
            DataRequest.contact_id == scope.owner.id,
            or_(
                DataRequest.status == RequestStatus.OPEN.value,
                (DataRequest.status == RequestStatus.DELIVERED.value)
                & (DataRequest.due_on >= oldest_due),
            ),
        )
        .order_by(DataRequest.id)
    )
    if lock:
        query = query.with_for_update(of=DataRequest)
    requests = list(session.scalars(query.execution_options(populate_existing=True)).unique())
    drafts = {
        d.data_request_id: d
        for d in session.scalars(
            select(DataDraft).where(DataDraft.data_request_id.in_([r.id for r in requests]))
        )
    }
    kept = dimensions_of(session, scope.organisation.id)
    names = labels(kept)
    items = []
    for request in requests:
        cells = cells_of(indicator_dimensions(kept, request.indicator.dimensions or []))
        values = sorted(
            session.scalars(
                select(IndicatorValue).where(IndicatorValue.data_request_id == request.id)
            ),
            key=lambda v: (v.district != "", v.district, ordered_rank(v.cell, cells)),
        )
        history = _history(session, request, values)
        item = RequestItem(request, values, history, drafts.get(request.id), cells)
        item.cell_labels = {c: cell_label(c, names) for c in cells}
        items.append(item)
    return sorted(items, key=lambda i: (i.request.indicator.code, i.request.period))


def _history(
    session: Session, request: DataRequest, own: list[IndicatorValue]
) -> list[IndicatorValue]:
    own_ids = {v.id for v in own}
    rows = session.scalars(
        select(IndicatorValue)
        .where(
            IndicatorValue.indicator_id == request.indicator_id,
            IndicatorValue.district == "",
            IndicatorValue.cell == "",
        )
        .order_by(IndicatorValue.survey_date.desc())
        .limit(HISTORY_SHOWN + len(own_ids))
    )
    return [v for v in rows if v.id not in own_ids][:HISTORY_SHOWN][::-1]


def split_posted(pairs: Iterable[tuple[str, Any]]) -> dict[int, RawAnswers]:
    """``r-12-value=…`` pairs into ``{12: {"value": …}}``; other names are ignored."""
    out: dict[int, RawAnswers] = {}
    for name, value in pairs:
        m = _POSTED.match(name)
        if m and isinstance(value, str):
            out.setdefault(int(m[1]), {})[m[2]] = without_control_characters(value[:MAX_FIELD])
    return out


def check(item: RequestItem, raw: Mapping[str, str], today: date) -> CheckedDelivery:
    indicator = item.request.indicator
    return check_delivery(
        indicator.unit,
        indicator.districts or [],
        raw,
        today=today,
        cells=item.cells,
        computation=indicator.computation,
    )


def unusual(session: Session, item: RequestItem, checked: CheckedDelivery) -> set[str]:
    """Which typed values (by field name) lie far from the series; for showing, not refusing."""
    if checked.survey_date is None:
        return set()
    indicator = item.request.indicator
    own = {(v.district, v.cell): v.id for v in item.values}
    names = {"": "value", **{d: f"value-{i}" for i, d in enumerate(indicator.districts or [])}}
    flagged = set()
    for entry in checked.entries:
        value = numeric_value(entry)
        if value is None:
            continue
        history = history_before(
            session,
            indicator.id,
            entry.district,
            checked.survey_date,
            exclude=own.get((entry.district, entry.cell)),
            cell=entry.cell,
        )
        if series.outlier(history, value):
            flagged.add(_field_of(item, entry, names))
    return flagged


def _field_of(item: RequestItem, entry: Entry, names: Mapping[str, str]) -> str:
    if entry.counts is not None:
        return "c1"
    if entry.cell:
        return cell_prefix(item.cells.index(entry.cell) + 1) + "value"
    return names.get(entry.district, "value")


@dataclass
class DeliveryOutcome:
    errors: dict[int, list[FieldError]] = field(default_factory=dict)
    delivered: list[Delivered] = field(default_factory=list)
    gone: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def submit(
    *,
    session: Session,
    clock: Clock,
    scope: DataScope,
    posted: Mapping[int, RawAnswers],
    only: set[int] | None = None,
) -> DeliveryOutcome:
    """Keep every posted draft, then deliver the requests in ``only`` (all posted ones when
    None): all or nothing; a delivered request's draft ends with the delivery."""
    today = calendar_of(scope.organisation).local_date(clock.now())
    items = {i.request.id: i for i in items_in_scope(session, scope, today=today, lock=True)}
    save_drafts(
        session=session, scope=scope, items=list(items.values()), posted=posted, now=clock.now()
    )
    wanted = set(posted) if only is None else only
    outcome = DeliveryOutcome(gone=sorted(i for i in wanted if i not in items))
    chosen = [items[i] for i in sorted(wanted) if i in items]
    checked = {i.request.id: check(i, posted.get(i.request.id, {}), today) for i in chosen}
    for item in chosen:
        result = checked[item.request.id]
        if result.survey_date is not None and date_taken(session, item, result):
            result.errors.append(FieldError("survey_date", "data.error.date_taken"))
    outcome.errors = {i: c.errors for i, c in checked.items() if c.errors}
    if outcome.errors:
        return outcome
    for item in chosen:
        result = checked[item.request.id]
        assert result.survey_date is not None
        delivered = deliver(
            session,
            clock=clock,
            request=item.request,
            survey_date=result.survey_date,
            entries=result.entries,
            comment=result.comment,
            actor=scope.actor,
            actor_name=scope.contact.name,
        )
        outcome.delivered.append(delivered)
        if delivered.outcome != "unchanged":
            # The receipt ``deliver`` queued learns who delivered; after a hand-over the
            # colleague gets their own and the owner's becomes a copy (issue 13).
            receipt = confirmation(item.request, item.request.deliveries, scope.contact.name)
            queue_receipts(
                session, receipt, answerer=scope.contact, owner=scope.owner, now=clock.now()
            )
    discard_data_drafts(session, [item.request.id for item in chosen])
    return outcome


def save_drafts(
    *,
    session: Session,
    scope: DataScope,
    items: list[RequestItem],
    posted: Mapping[int, RawAnswers],
    now: datetime,
) -> int:
    """What was typed for the link's requests, kept as typed; returns how many were stored."""
    return save_data_drafts(
        session=session,
        requests=[(i.request, i.draft) for i in items],
        posted=posted,
        actor=scope.actor,
        now=now,
    )


def save_posted(
    *, session: Session, scope: DataScope, posted: Mapping[int, RawAnswers], now: datetime
) -> int:
    """Keep what was typed (the "save" button, the page's autosave); returns how many."""
    today = calendar_of(scope.organisation).local_date(now)
    items = items_in_scope(session, scope, today=today)
    return save_drafts(session=session, scope=scope, items=items, posted=posted, now=now)


def shown_raw(item: RequestItem) -> RawAnswers:
    """What the form shows for a request: the draft over the stored (or starting) values."""
    base = stored_raw(item) or default_raw(item)
    return {**base, **item.draft.answers} if item.draft is not None else base


def date_taken(session: Session, item: RequestItem, checked: CheckedDelivery) -> bool:
    """A correction that moves the survey date onto another value of the same district."""
    own = {(v.district, v.cell): v.id for v in item.values}
    for entry in checked.entries:
        key = (entry.district, entry.cell)
        other = session.scalars(
            select(IndicatorValue.id).where(
                IndicatorValue.indicator_id == item.request.indicator_id,
                IndicatorValue.district == entry.district,
                IndicatorValue.cell == entry.cell,
                IndicatorValue.survey_date == checked.survey_date,
            )
        ).first()
        if other is not None and key in own and other != own[key]:
            return True
    return False


def stored_raw(item: RequestItem) -> RawAnswers:
    """The delivered values of a request as the strings the form shows."""
    if not item.values:
        return {}
    first = item.values[0]
    raw: RawAnswers = {"survey_date": first.survey_date.isoformat(), "comment": first.comment}
    districts = list(item.request.indicator.districts or [])
    for value in item.values:
        if value.counts is not None:
            raw |= {f"c{i + 1}": str(c) for i, c in enumerate(value.counts)}
        elif value.report:
            raw["report"] = value.report
        elif value.district == "" and (value.cell == "" or value.cell in item.cells):
            raw |= _cell_raw(item, value)
        elif value.district in districts and value.cell == "":
            raw[f"value-{districts.index(value.district)}"] = _plain_number(value.value)
    return raw


def _cell_raw(item: RequestItem, value: IndicatorValue) -> RawAnswers:
    """A total's or cell's stored value and base figures as the form's fields."""
    prefix = cell_prefix(item.cells.index(value.cell) + 1 if value.cell else 0)
    figures = (value.numerator, value.denominator, value.population_share)
    raw = {prefix + n: _plain_number(f) for n, f in zip(BASE_FIELDS, figures, strict=True)}
    return {prefix + "value": _plain_number(value.value), **{k: v for k, v in raw.items() if v}}


def _plain_number(value: float | None) -> str:
    if value is None:
        return ""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


def default_raw(item: RequestItem) -> RawAnswers:
    """What an open request's form starts with: the end of the period the value describes
    (31.12. of last year for a yearly value delivered in February), else the rhythm date."""
    request = item.request
    if request.reference_end is not None and request.indicator.rhythm != Rhythm.MONTHS:
        return {"survey_date": request.reference_end.isoformat()}
    year, month = (int(p) for p in request.period.split("-"))
    day = min(max(request.indicator.due_day, 1), 28)
    return {"survey_date": date(year, month, day).isoformat()}
