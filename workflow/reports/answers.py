"""A cycle's answers as a table for Excel: one row per measure-in-cycle, as CSV or XLSX; never writes the DB.

CSV is UTF-8 with a byte-order mark and semicolons, as German Excel opens it by double
click; a cell that starts like a formula (=, +, -, @) gets a leading apostrophe there, by the
rule of every CSV zielflow writes (workflow/csv_safe.py), so a typed answer can never run as
a formula. XLSX stores text cells as text, dates as dates.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.catalogue.models import Contact, Department, Field, Goal, Measure, Organisation
from workflow.csv_safe import write_csv
from workflow.cycles.models import Cycle, Interview, MeasureCycle, Review, TargetAgreement
from workflow.cycles.queries import in_view_of
from workflow.machine import LABELS_DE, State
from workflow.reports.answer_values import actor_names, indicator_lines, milestone_lines
from workflow.reports.data import ReportUnavailable
from workflow.reports.german import code_key
from workflow.xlsx_text import row_values

Cell = str | int | date | datetime | None

COLUMNS: tuple[str, ...] = (
    "zyklus",
    "handlungsfeld_code",
    "handlungsfeld",
    "ziel_code",
    "ziel",
    "ziel_rang",
    "massnahme_code",
    "massnahme",
    "fachbereich",
    "kontakt_name",
    "kontakt_email",
    "phase",
    "phase_code",
    "faellig_am",
    "eskalationsstufe",
    "erstgespraech_ergebnis",
    "umsetzungsstand",
    "zv_entscheidung",
    "zv_begruendung",
    "zv_ziele",
    "zv_meilensteine",
    "zv_kennzahl_zielwerte",
    "zv_verantwortlich",
    "zv_ressourcen",
    "zv_abgegeben_am",
    "zv_abgegeben_von",
    "zv_angenommen_am",
    "review_zielerreichung",
    "review_kommentar",
    "review_hindernisse",
    "review_kennzahl_werte",
    "review_vorschlag",
    "review_vorschlag_text",
    "review_abgegeben_am",
    "review_abgegeben_von",
    "review_angenommen_am",
)


@dataclass(frozen=True)
class AnswersTable:
    year: int
    organisation_slug: str
    rows: tuple[dict[str, Cell], ...]


def _name(names: dict[str, str], actor: str) -> str:
    """A submitter's name; one no longer known here is left empty, never shown as its id."""
    if actor in names:
        return names[actor]
    word = _de("actor", actor)
    if word != actor:
        return word
    return "" if actor.startswith(("user:", "contact:")) else actor


def _milestones(items: list[dict[str, Any]]) -> str:
    return "; ".join(f"{due}: {what}" if due else what for due, what in milestone_lines(items))


def _de(prefix: str, value: str) -> str:
    """The page's German word for a stored choice ("keep" → "beibehalten"); "" stays empty."""
    # Imported here: the catalogues live with the pages (as in workflow/meetings/pack.py).
    from api.i18n import translate

    if not value:
        return ""
    key = f"{prefix}.{value}"
    text = translate(key, "de")
    return value if text == key else text


def answers_table(session: Session, *, organisation_id: int, year: int) -> AnswersTable:
    org = session.get(Organisation, organisation_id)
    cycle = session.scalars(
        select(Cycle).where(Cycle.organisation_id == organisation_id, Cycle.year == year)
    ).first()
    if org is None or cycle is None:
        raise ReportUnavailable("report.no_cycle", year=year)
    tz = ZoneInfo(org.timezone)
    # Values typed before the forms checked ranges (such as 1E+309) read as this.
    invalid = _de("answer", "value_invalid")

    def indicators(values: dict[str, Any] | None) -> str:
        lines = indicator_lines(
            session, organisation_id=organisation_id, values=values, lang="de", invalid=invalid
        )
        return "; ".join(f"{line.label}: {line.value}" for line in lines)

    def local(moment: datetime | None) -> datetime | None:
        # Excel knows no time zones: the organisation's wall-clock time, to the minute.
        if moment is None:
            return None
        return moment.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)

    rows = session.execute(
        select(
            MeasureCycle,
            Measure,
            Goal,
            Field,
            Department,
            Contact,
            Interview,
            TargetAgreement,
            Review,
        )
        .join(Measure, Measure.id == MeasureCycle.measure_id)
        .join(Goal, Goal.id == Measure.goal_id)
        .join(Field, Field.id == Goal.field_id)
        .join(Department, Department.id == Measure.department_id)
        .outerjoin(Contact, Contact.id == Measure.contact_id)
        .outerjoin(Interview, Interview.measure_cycle_id == MeasureCycle.id)
        .outerjoin(TargetAgreement, TargetAgreement.measure_cycle_id == MeasureCycle.id)
        .outerjoin(Review, Review.measure_cycle_id == MeasureCycle.id)
        # Open items of earlier cycles are listed too, each under its own "zyklus".
        .where(in_view_of(cycle.id))
    ).all()
    submitters = [a.submitted_by for row in rows for a in row[7:9] if a is not None]
    names = actor_names(session, organisation_id=organisation_id, actors=submitters)
    out: list[dict[str, Cell]] = []
    for mc, measure, goal, field, dept, contact, interview, agreement, review in rows:
        out.append(
            {
                "zyklus": mc.cycle.year,
                "handlungsfeld_code": field.code,
                "handlungsfeld": field.name,
                "ziel_code": goal.code,
                "ziel": goal.name,
                "ziel_rang": goal.rank,
                "massnahme_code": measure.code,
                "massnahme": measure.title,
                "fachbereich": dept.name,
                "kontakt_name": contact.name if contact else "",
                "kontakt_email": contact.email if contact else "",
                "phase": LABELS_DE[State(mc.state)],
                "phase_code": mc.state,
                "faellig_am": mc.due_on,
                "eskalationsstufe": mc.escalation_level,
                "erstgespraech_ergebnis": _de("decision", interview.decision) if interview else "",
                "umsetzungsstand": (
                    _de("impl", interview.implementation_status) if interview else ""
                ),
                "zv_entscheidung": _de("answer.decision", agreement.decision) if agreement else "",
                "zv_begruendung": agreement.reason if agreement else "",
                "zv_ziele": agreement.targets if agreement else "",
                "zv_meilensteine": _milestones(agreement.milestones) if agreement else "",
                "zv_kennzahl_zielwerte": (
                    indicators(agreement.indicator_targets) if agreement else ""
                ),
                "zv_verantwortlich": agreement.responsible if agreement else "",
                "zv_ressourcen": agreement.resources if agreement else "",
                "zv_abgegeben_am": local(agreement.submitted_at) if agreement else None,
                "zv_abgegeben_von": _name(names, agreement.submitted_by) if agreement else "",
                "zv_angenommen_am": local(agreement.accepted_at) if agreement else None,
                "review_zielerreichung": (
                    _de("forms.achievement", review.achievement) if review else ""
                ),
                "review_kommentar": review.comment if review else "",
                "review_hindernisse": review.obstacles if review else "",
                "review_kennzahl_werte": indicators(review.indicator_values) if review else "",
                "review_vorschlag": _de("forms.proposal", review.proposal) if review else "",
                "review_vorschlag_text": review.proposal_text if review else "",
                "review_abgegeben_am": local(review.submitted_at) if review else None,
                "review_abgegeben_von": _name(names, review.submitted_by) if review else "",
                "review_angenommen_am": local(review.accepted_at) if review else None,
            }
        )
    out.sort(key=lambda r: code_key(str(r["massnahme_code"])))
    return AnswersTable(year, org.slug, tuple(out))


def csv_text(value: Cell) -> str:
    """One cell as CSV text: ISO dates, whole minutes (write_csv then defuses formulas)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def to_csv(table: AnswersTable) -> bytes:
    buffer = io.StringIO()
    lines = ([csv_text(row[c]) for c in COLUMNS] for row in table.rows)
    write_csv(buffer, [list(COLUMNS), *lines], delimiter=";")
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(table: AnswersTable) -> bytes:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = f"Antworten {table.year}"
    ws.append(list(COLUMNS))
    for row in table.rows:
        ws.append(row_values([row[c] for c in COLUMNS]))
    _as_text(ws.iter_rows(min_row=2))
    for index, column in enumerate(COLUMNS, start=1):
        if column.endswith("_am"):
            for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = (
                    "DD.MM.YYYY HH:MM" if isinstance(cell.value, datetime) else "DD.MM.YYYY"
                )
        ws.column_dimensions[get_column_letter(index)].width = 14 if column.endswith("_am") else 22
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _as_text(rows: Iterable[Any]) -> None:
    """openpyxl turns any string starting with "=" into a formula; answers are text."""
    for row in rows:
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
