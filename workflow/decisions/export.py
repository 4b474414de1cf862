"""The decisions register as a table for Excel: CSV or XLSX, one row per decision; never writes the DB.

Like the answers export (workflow/reports/answers.py): CSV is UTF-8 with a byte-order mark
and semicolons, as German Excel opens it by double click, and every cell goes through the
one CSV rule (workflow/csv_safe.py), so a typed wording can never run as a formula. XLSX
stores text cells as text and dates as dates. Headers and labels are German: the table is
a document of the administration.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from workflow.csv_safe import write_csv
from workflow.decisions.queries import DecisionRow
from workflow.terms import Terms
from workflow.xlsx_text import row_values

Cell = str | int | date | datetime | None

COLUMNS: tuple[str, ...] = (
    "nr",
    "sitzung_am",
    "gremium",
    "tagesordnungspunkt",
    "art",
    "wortlaut",
    "massnahme_code",
    "massnahme",
    "wirkung",
    "adressat",
    "ansprechperson",
    "faellig_am",
    "stand",
    "umgesetzt_am",
    "antwort",
    "beantwortet_am",
    "erfasst_am",
)
KIND_DE = {
    "resolution": "Beschluss",
    "recommendation": "Empfehlung",
    "assignment": "Auftrag",
    "change_proposal": "Änderungsvorschlag",
}
STATUS_DE = {"open": "offen", "in_progress": "in Bearbeitung", "done": "erledigt"}
ACTION_DE = {
    "drop_measure": "Maßnahme streichen",
    "accept_review": "Rückmeldung zur Zielerreichung annehmen",
    "change_rank": "Rang des Ziels ändern",
}
ADDRESSEE_DE = {"council": "Rat oder Kreistag", "administration": "Verwaltung"}


def effect(row: DecisionRow) -> str:
    """What a Beschluss does, in words: "Rang des Ziels ändern: 2"."""
    text = ACTION_DE.get(row.action, "")
    return f"{text}: {row.action_value}" if text and row.action_value else text


def addressed_to(row: DecisionRow, terms: Terms | None = None) -> str:
    """Whom an Empfehlung goes to; a department by its name.

    ``terms`` are the organisation's words (Amt or Fachbereich, Rat or Kreistag); without them
    the register says what fits every organisation.
    """
    if row.addressee == "department":
        return row.department_name or (terms.unit if terms else "Fachbereich")
    if row.addressee == "council" and terms is not None:
        return terms.council
    return ADDRESSEE_DE.get(row.addressee, "")


def table(
    rows: Sequence[DecisionRow], timezone: str, terms: Terms | None = None
) -> list[dict[str, Cell]]:
    tz = ZoneInfo(timezone)

    def local(moment: datetime | None) -> datetime | None:
        # Excel knows no time zones: the organisation's wall-clock time, to the minute.
        if moment is None:
            return None
        return moment.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)

    return [
        {
            "nr": r.id,
            "sitzung_am": r.held_on,
            "gremium": r.body_name,
            "tagesordnungspunkt": (
                f"TOP {r.agenda_position}: {r.agenda_title}"
                if r.agenda_position is not None
                else r.agenda_title
            ),
            "art": KIND_DE.get(r.kind, r.kind),
            "wortlaut": r.text,
            "massnahme_code": r.measure_code,
            "massnahme": r.measure_title,
            "wirkung": effect(r),
            "adressat": addressed_to(r, terms),
            "ansprechperson": r.contact_name,
            "faellig_am": r.due_on,
            "stand": STATUS_DE.get(r.status, r.status),
            "umgesetzt_am": local(r.applied_at),
            "antwort": r.answer,
            "beantwortet_am": local(r.answered_at),
            "erfasst_am": local(r.created_at),
        }
        for r in rows
    ]


def _csv_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def to_csv(rows: Sequence[DecisionRow], timezone: str, *, terms: Terms | None = None) -> bytes:
    buffer = io.StringIO()
    lines = ([_csv_text(row[c]) for c in COLUMNS] for row in table(rows, timezone, terms))
    write_csv(buffer, [list(COLUMNS), *lines], delimiter=";")
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(rows: Sequence[DecisionRow], timezone: str, *, terms: Terms | None = None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Beschlüsse"
    ws.append(list(COLUMNS))
    for row in table(rows, timezone, terms):
        ws.append(row_values([row[c] for c in COLUMNS]))
    for cells in ws.iter_rows(min_row=2):
        for cell in cells:
            # openpyxl would store text starting with "=" as a formula; a wording is text.
            if isinstance(cell.value, str):
                cell.data_type = "s"
    for index, column in enumerate(COLUMNS, start=1):
        if column.endswith("_am"):
            for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = (
                    "DD.MM.YYYY HH:MM" if isinstance(cell.value, datetime) else "DD.MM.YYYY"
                )
        wide = column in ("wortlaut", "antwort", "massnahme", "tagesordnungspunkt")
        ws.column_dimensions[get_column_letter(index)].width = 40 if wide else 16
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
