"""``simulate --organisations N``: a district and N towns in one database, and the counts
of each.

The sweep, digests and sender already serve every organisation in one pass; what this
module adds is the set-up plan and a summary per organisation whose counts add up to the
run's totals (tests/test_simulate_organisations.py checks that they do).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifications.models import OutboxMessage
from notifications.sink import RecordingHandler
from workflow import simulate_bodies as bodies_model
from workflow import simulate_status_checks as status_model
from workflow.catalogue.models import Organisation, OrganisationKind
from workflow.cycles.models import AuditEvent, MeasureCycle
from workflow.demo_catalogues import rehomed
from workflow.indicators.models import DataRequest, RequestStatus


@dataclass(frozen=True)
class OrgPlan:
    """One organisation the simulation sets up: the district or a town, or a lone city."""

    slug: str
    name: str
    kind: OrganisationKind
    catalogue: Path
    parent: str | None = None


@dataclass
class OrgRun:
    """One simulated organisation and the people modelled for it alone."""

    org_id: int
    bodies: bodies_model.Bodies
    status: status_model.StatusPeople


def organisation_plans(slug: str, count: int, catalogue: Path, var_dir: Path) -> list[OrgPlan]:
    """One city as always; with ``count`` above 1 a district and ``count`` towns under it,
    each with a copy of the catalogue under its own mail domain (workflow/demo_catalogues.py)."""
    if count <= 1:
        return [OrgPlan(slug, "Stadt Simulationshausen", OrganisationKind.CITY, catalogue)]
    copies = var_dir / "simulation" / "catalogues"
    plans = [
        OrgPlan(
            slug,
            "Landkreis Simulationshausen",
            OrganisationKind.DISTRICT,
            rehomed(catalogue, f"{slug}.example.org", copies / f"{slug}.csv"),
        )
    ]
    for number in range(1, count + 1):
        town = f"{slug}-{number}"
        plans.append(
            OrgPlan(
                town,
                f"Stadt Simulationsheim {number}",
                OrganisationKind.TOWN,
                rehomed(catalogue, f"{town}.example.org", copies / f"{town}.csv"),
                parent=slug,
            )
        )
    return plans


def org_seed(seed: int, index: int) -> int:
    # The first organisation keeps the seed's own streams, so a lone city runs as before.
    return seed + 7919 * index


def summed(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Nested counts added up key by key: the run's totals from the organisations' own."""
    total: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if isinstance(value, dict):
                total[key] = summed([total.get(key, {}), value])
            else:
                total[key] = total.get(key, 0) + value
    return total


def sending_organisations(session: Session, sink: RecordingHandler) -> list[tuple[str, int | None]]:
    """Each captured email's kind and the organisation whose outbox rows it carried (found
    by its Message-ID, which the sender stores on the rows)."""
    owners = dict(
        session.execute(
            select(OutboxMessage.message_id, OutboxMessage.organisation_id)
            .where(OutboxMessage.message_id.is_not(None))
            .distinct()
        ).all()
    )
    return [(m.kind, owners.get(m.message_id)) for m in sink.received]


def organisation_summary(
    session: Session,
    org_id: int,
    senders: list[tuple[str, int | None]],
    *,
    today: date,
    end: date,
    waiting: tuple[str, ...],
) -> dict[str, Any]:
    """The run summary's counts for one organisation."""
    org = session.get(Organisation, org_id)
    parent = session.get(Organisation, org.parent_id) if org and org.parent_id else None
    return {
        "slug": org.slug if org else "",
        "kind": org.kind if org else "",
        "parent": parent.slug if parent else None,
        **_pipeline(session, org_id, today=today, waiting=waiting),
        **_emails(session, org_id, senders),
        "data_requests": _data_requests(session, org_id),
        **bodies_model.summary(session, org_id, end),
        **status_model.summary(session, organisation_id=org_id, today=today, end=end),
    }


def _pipeline(
    session: Session, org_id: int, *, today: date, waiting: tuple[str, ...]
) -> dict[str, Any]:
    mine = MeasureCycle.organisation_id == org_id
    transitions = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.organisation_id == org_id, AuditEvent.from_state.is_not(None))
    )
    states = session.execute(
        select(MeasureCycle.state, func.count()).where(mine).group_by(MeasureCycle.state)
    ).all()
    overdue = session.scalar(
        select(func.count())
        .select_from(MeasureCycle)
        .where(mine, MeasureCycle.state.in_(waiting), MeasureCycle.due_on < today)
    )
    measures = session.scalar(
        select(func.count(func.distinct(MeasureCycle.measure_id))).where(mine)
    )
    return {
        "measures": int(measures or 0),
        "transitions": int(transitions or 0),
        "overdue_at_end": int(overdue or 0),
        "states_at_end": {str(k): int(n) for k, n in sorted(states)},
    }


def _emails(session: Session, org_id: int, senders: list[tuple[str, int | None]]) -> dict[str, Any]:
    mine = OutboxMessage.organisation_id == org_id
    outbox = dict(
        session.execute(
            select(OutboxMessage.kind, func.count()).where(mine).group_by(OutboxMessage.kind)
        ).all()
    )
    statuses = session.execute(
        select(OutboxMessage.status, func.count()).where(mine).group_by(OutboxMessage.status)
    ).all()
    kinds = Counter(kind for kind, owner in senders if owner == org_id)
    return {
        "emails": dict(sorted(kinds.items())),
        "emails_total": sum(kinds.values()),
        "escalations": {
            "department_head": int(outbox.get("escalation_head", 0)),
            "steering_group": int(outbox.get("digest_item", 0)),
        },
        "outbox_status": {str(k): int(n) for k, n in sorted(statuses)},
    }


def _data_requests(session: Session, org_id: int) -> dict[str, int]:
    def count(*where: Any) -> int:
        query = select(func.count()).select_from(DataRequest)
        return int(session.scalar(query.where(DataRequest.organisation_id == org_id, *where)) or 0)

    return {
        "opened": count(),
        "delivered": count(DataRequest.status == RequestStatus.DELIVERED.value),
        "open_at_end": count(DataRequest.status == RequestStatus.OPEN.value),
    }
