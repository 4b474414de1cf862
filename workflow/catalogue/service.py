"""Catalogue import and export: all or nothing, upsert by code; callers own the transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.catalogue.heads import apply_head, heads_by_department
from workflow.catalogue.models import (
    Concept,
    Contact,
    Department,
    Field,
    Goal,
    Measure,
    Organisation,
    OrganisationKind,
)
from workflow.catalogue.optional import Extras, check_optional
from workflow.catalogue.rows import EXPORT_COLUMNS, FileUnreadable, read_rows
from workflow.catalogue.salutations import check_salutations
from workflow.catalogue.validate import CatalogueRow, RowError, validate
from workflow.csv_safe import write_csv
from workflow.db import Base
from workflow.messages import message
from workflow.salutation_entry import file_word
from workflow.xlsx_text import row_values

T = TypeVar("T", bound=Base)


class CatalogueInvalid(Exception):
    """Every problem of a refused file (``errors``); ``code`` and ``params`` word the summary."""

    code = "catalogue.invalid"

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        self.params: dict[str, Any] = {"count": len(errors)}
        super().__init__(message(self.code, "de", **self.params))


@dataclass
class ImportReport:
    rows: int = 0
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(self.created.values()) or any(self.updated.values())

    def count(self, bucket: dict[str, int], kind: str) -> None:
        bucket[kind] = bucket.get(kind, 0) + 1


def ensure_organisation(
    session: Session,
    *,
    slug: str,
    name: str,
    state: str = "NW",
    timezone: str = "Europe/Berlin",
    kind: OrganisationKind = OrganisationKind.CITY,
) -> Organisation:
    org = session.scalars(select(Organisation).where(Organisation.slug == slug)).first()
    if org is None:
        org = Organisation(slug=slug, name=name, state=state, timezone=timezone, kind=kind.value)
        session.add(org)
        session.flush()
    return org


def import_catalogue(*, session: Session, organisation_id: int, path: Path) -> ImportReport:
    """Raises CatalogueInvalid with every row error, or FileUnreadable; writes nothing then."""
    try:
        raw = read_rows(path)
    except FileUnreadable as exc:
        raise CatalogueInvalid([RowError(exc.line, "-", exc.code, exc.params)]) from None
    rows, errors = validate(raw)
    extras, more = check_optional(raw)
    salutations, unclear = check_salutations(raw)
    if errors or more or unclear:
        raise CatalogueInvalid(sorted(errors + more + unclear, key=lambda e: (e.line, e.column)))
    report = ImportReport(rows=len(rows))
    concepts = _concepts(session, organisation_id, extras, report)
    _upsert(session, organisation_id, rows, concepts, salutations, report)
    _heads(session, organisation_id, extras, salutations, report)
    return report


def _upsert(
    session: Session,
    org_id: int,
    rows: list[CatalogueRow],
    concepts: dict[str, int],
    salutations: dict[str, str],
    report: ImportReport,
) -> None:
    """``concepts``: the concept id of each field code the file names a concept for;
    ``salutations``: the salutation of each address the file names one for."""
    fields = _existing(session, Field, org_id, "code")
    goals = _existing(session, Goal, org_id, "code")
    departments = _existing(session, Department, org_id, "name")
    contacts = _existing(session, Contact, org_id, "email")
    measures = _existing(session, Measure, org_id, "code")

    def put(
        kind: str, index: dict[str, Any], key: str, model: type[T], values: dict[str, Any]
    ) -> T:
        obj = index.get(key)
        if obj is None:
            obj = model(organisation_id=org_id, **values)
            session.add(obj)
            session.flush()
            index[key] = obj
            report.count(report.created, kind)
        else:
            changed = {k: v for k, v in values.items() if getattr(obj, k) != v}
            if changed:
                for k, v in changed.items():
                    setattr(obj, k, v)
                report.count(report.updated, kind)
        return obj

    for r in rows:
        field_values: dict[str, Any] = {"code": r.field_code, "name": r.field_name}
        if r.field_code in concepts:
            field_values["concept_id"] = concepts[r.field_code]
        f = put("fields", fields, r.field_code, Field, field_values)
        g = put(
            "goals",
            goals,
            r.goal_code,
            Goal,
            {"code": r.goal_code, "name": r.goal_name, "rank": r.goal_rank, "field_id": f.id},
        )
        d = put("departments", departments, r.department, Department, {"name": r.department})
        contact_id = None
        if r.contact_email:
            contact_values: dict[str, Any] = {
                "email": r.contact_email,
                "name": r.contact_name,
                "department_id": d.id,
            }
            if r.contact_email in salutations:
                contact_values["salutation"] = salutations[r.contact_email]
            c = put("contacts", contacts, r.contact_email, Contact, contact_values)
            contact_id = c.id
        put(
            "measures",
            measures,
            r.measure_code,
            Measure,
            {
                "code": r.measure_code,
                "title": r.measure_title,
                "description": r.description,
                "goal_id": g.id,
                "department_id": d.id,
                "contact_id": contact_id,
            },
        )
    session.flush()


def _concepts(
    session: Session, org_id: int, extras: Extras, report: ImportReport
) -> dict[str, int]:
    """The concepts the file names, created if new: field code → concept id."""
    concepts = _existing(session, Concept, org_id, "name")
    for name in sorted(set(extras.concepts.values())):
        if name not in concepts:
            concepts[name] = Concept(organisation_id=org_id, name=name)
            session.add(concepts[name])
            report.count(report.created, "concepts")
    session.flush()
    return {code: concepts[name].id for code, name in extras.concepts.items()}


def _heads(
    session: Session,
    org_id: int,
    extras: Extras,
    salutations: dict[str, str],
    report: ImportReport,
) -> None:
    """The heads the file names; a department it names no head for keeps its head."""
    departments = _existing(session, Department, org_id, "name")
    contacts = {c.email.lower(): c for c in _existing(session, Contact, org_id, "email").values()}
    for department_name, head in extras.heads.items():
        contact, change = apply_head(
            session,
            organisation_id=org_id,
            department_id=departments[department_name].id,
            name=head.name,
            email=head.email,
            existing=contacts.get(head.email),
            salutation=salutations.get(head.email),
        )
        contacts[head.email] = contact
        if change.created:
            report.count(report.created, "heads")
        elif change.changed:
            report.count(report.updated, "heads")
    session.flush()


def _existing(session: Session, model: type[T], org_id: int, key: str) -> dict[str, T]:
    rows = session.scalars(select(model).where(model.organisation_id == org_id)).all()  # type: ignore[attr-defined]
    return {getattr(r, key): r for r in rows}


def catalogue_rows(session: Session, organisation_id: int) -> list[dict[str, str]]:
    measures = session.scalars(
        select(Measure).where(Measure.organisation_id == organisation_id).order_by(Measure.code)
    ).all()
    heads = heads_by_department(session, organisation_id)
    concepts = {c.id: c.name for c in _existing(session, Concept, organisation_id, "name").values()}
    out = []
    for m in measures:
        contact = m.contact
        head = heads.get(m.department_id)
        concept_id = m.goal.field.concept_id
        out.append(
            {
                "handlungsfeld_code": m.goal.field.code,
                "handlungsfeld": m.goal.field.name,
                "ziel_code": m.goal.code,
                "ziel": m.goal.name,
                "ziel_rang": str(m.goal.rank),
                "massnahme_code": m.code,
                "massnahme": m.title,
                "beschreibung": m.description,
                "fachbereich": m.department.name,
                "kontakt_name": contact.name if contact else "",
                "kontakt_email": contact.email if contact else "",
                "leitung_name": head.name if head else "",
                "leitung_email": head.email if head else "",
                "konzept": concepts.get(concept_id, "") if concept_id else "",
                "kontakt_anrede": file_word(contact.salutation) if contact else "",
                "leitung_anrede": file_word(head.salutation) if head else "",
            }
        )
    return out


def export_catalogue(*, session: Session, organisation_id: int, path: Path) -> int:
    rows = catalogue_rows(session, organisation_id)
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        assert ws is not None
        ws.title = "Maßnahmenkatalog"
        ws.append(list(EXPORT_COLUMNS))
        for r in rows:
            ws.append(row_values([int(r[c]) if c == "ziel_rang" else r[c] for c in EXPORT_COLUMNS]))
        for row in ws.iter_rows():
            for cell in row:
                # openpyxl would store text starting with "=" as a formula; catalogue text is text.
                if isinstance(cell.value, str):
                    cell.data_type = "s"
        ws.freeze_panes = "A2"
        wb.save(path)
    else:
        with path.open("w", encoding="utf-8", newline="") as fh:
            # One rule for every CSV zielflow writes: formula-looking text gets a text mark.
            write_csv(fh, [list(EXPORT_COLUMNS), *([r[c] for c in EXPORT_COLUMNS] for r in rows)])
    return len(rows)
