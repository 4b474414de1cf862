"""``zielflow report status-sheet --field CODE --out FILE``: the per-field status sheet as a file.

The CLI's edge of ``workflow.reports.status_sheet``: finds the organisation and the field,
takes today from the clock in the organisation's time zone, picks PDF or HTML (``--format``,
else the file's suffix) and says what went wrong in one line in the language of ``--lang``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workflow import cli_lang, runtime
from workflow.cli_text import text, text_n
from workflow.cycles.calendar import calendar_of
from workflow.orgs import resolve_organisation
from workflow.reports.status_sheet import (
    find_field,
    sheet_filename,
    sheet_html,
    sheet_pdf,
    status_sheet,
)


@dataclass(frozen=True)
class SheetRefused(Exception):
    message: str  # one line, in the language asked for


def write_status_sheet(*, field: str, output: Path, fmt: str, org: str, lang: str = "de") -> str:
    """Writes the sheet and returns the line to print; raises ``SheetRefused``."""
    if not field:
        raise SheetRefused(text(lang, "report.field_missing"))
    fmt = fmt or ("pdf" if output.suffix.lower() == ".pdf" else "html")
    if fmt not in ("html", "pdf"):
        raise SheetRefused(text(lang, "report.unknown_format", fmt=fmt, allowed="html, pdf"))
    rt = runtime.current()
    with rt.sessions() as session, session.begin():
        organisation = resolve_organisation(session, org or rt.settings.organisation)
        found = find_field(session, organisation_id=organisation.id, code=field)
        if found is None:
            raise SheetRefused(text(lang, "report.field_unknown", field=field))
        today = calendar_of(organisation).local_date(rt.clock.now())
        sheet = status_sheet(
            session, organisation_id=organisation.id, field_id=found.id, today=today
        )
        content = (
            sheet_pdf(sheet, lang) if fmt == "pdf" else sheet_html(sheet, lang).encode("utf-8")
        )
    output.write_bytes(content)
    size = text_n(lang, "count.bytes", len(content))
    return text(lang, "report.written", filename=sheet_filename(sheet, fmt), size=size, path=output)


def run(*, field: str, output: Path, fmt: str, org: str) -> None:
    """The command's body: one line on success, one line and exit status 1 on a refusal."""
    import typer

    try:
        line = write_status_sheet(
            field=field, output=output, fmt=fmt, org=org, lang=cli_lang.current()
        )
    except SheetRefused as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from None
    typer.echo(line)
