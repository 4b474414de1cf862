"""``zielflow report monitoring`` and ``zielflow monitoring assumptions|statement``.

The CLI's edge of the monitoring report (``monitoring_data``, ``monitoring_html``) and of
the texts only that report shows (``workflow.monitoring.report_texts``): one transaction
each, one line on success, one line and exit status 1 on a refusal, in the language of
``--lang``. Its sentences live in ``api/locales/monitoring.*.json`` (keys
``monitoring.cli.*``), read here without loading the web layer, so ``--help`` stays quick.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from workflow import cli_lang, runtime
from workflow.cli_text import text_n
from workflow.cli_work import organisation_work

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workflow.catalogue.models import Organisation

LOCALES = Path(__file__).resolve().parents[2] / "api" / "locales"
FORMATS = ("html", "pdf")


@cache
def _catalogue(lang: str) -> dict[str, str]:
    loaded: dict[str, str] = json.loads(
        (LOCALES / f"monitoring.{lang}.json").read_text(encoding="utf-8")
    )
    return loaded


def text(lang: str, key: str, **values: object) -> str:
    found = _catalogue(lang).get(key) or _catalogue(cli_lang.DEFAULT).get(key) or key
    return found.format(**values) if values else found


def say(key: str, **values: object) -> str:
    return text(cli_lang.current(), key, **values)


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(1)


OrgOption = Annotated[str, typer.Option("--org", help=say("monitoring.cli.help.org"))]
TextFile = Annotated[Path, typer.Option("--text-file", help=say("monitoring.cli.help.text_file"))]


def _work(org: str) -> AbstractContextManager[tuple[Session, Organisation]]:
    """One transaction on the organisation; a refused text ends the command with its sentence."""
    from workflow.monitoring.report_texts import TextRefused, refusal_values

    return organisation_work(
        org, TextRefused, lambda exc: say(exc.key, **refusal_values(exc, cli_lang.current()))
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        _fail(say("monitoring.cli.unreadable", path=path))
        return ""


def write_report(*, year: int, output: Path, fmt: str, org: str, lang: str) -> str:
    """Writes the report and returns the line to print; the caller checked ``fmt``."""
    from workflow.reports.monitoring_data import monitoring_report
    from workflow.reports.monitoring_html import render

    with _work(org) as (session, organisation):
        report = monitoring_report(session, organisation_id=organisation.id, year=year)
        rendered = render(report, fmt, lang)
    output.write_bytes(rendered.content)
    size = text_n(lang, "count.bytes", len(rendered.content))
    return text(lang, "monitoring.cli.written", filename=rendered.filename, size=size, path=output)


def run_report(*, year: int | None, output: Path, fmt: str, org: str, lang: str = "") -> None:
    """``zielflow report monitoring``'s body, callable from ``report_cmd`` in workflow/cli.py."""
    lang = lang if lang in cli_lang.LANGUAGES else cli_lang.current()
    fmt = fmt or ("pdf" if output.suffix.lower() == ".pdf" else "html")
    if year is None:
        _fail(text(lang, "monitoring.cli.year_missing"))
        return
    if fmt not in FORMATS:
        _fail(text(lang, "monitoring.cli.unknown_format", fmt=fmt, allowed=", ".join(FORMATS)))
    typer.echo(write_report(year=year, output=output, fmt=fmt, org=org, lang=lang))


def report_monitoring_cmd(
    year: Annotated[int, typer.Option("--year", help=say("monitoring.cli.help.year"))],
    output: Annotated[
        Path, typer.Option("--output", "--out", help=say("monitoring.cli.help.output"))
    ],
    fmt: Annotated[str, typer.Option("--format", help=say("monitoring.cli.help.format"))] = "",
    lang: Annotated[str, typer.Option("--lang", help=say("monitoring.cli.help.lang"))] = "",
    org: OrgOption = "",
) -> None:
    """Write the monitoring report of YEAR as HTML or PDF."""
    run_report(year=year, output=output, fmt=fmt, org=org, lang=lang)


monitoring_app = typer.Typer(no_args_is_help=True, help=say("monitoring.cli.help.group"))


@monitoring_app.command("assumptions", help=say("monitoring.cli.help.assumptions"))
def assumptions_cmd(
    field_code: Annotated[str, typer.Argument(help=say("monitoring.cli.help.field"))],
    text_file: TextFile,
    org: OrgOption = "",
) -> None:
    """Store the Annahmen of a Handlungsfeld from a UTF-8 text file."""
    from workflow.monitoring.report_texts import set_assumptions

    typed = _read(text_file)
    with _work(org) as (session, organisation):
        found = set_assumptions(
            session, organisation_id=organisation.id, field_code=field_code, text=typed
        )
        code, name, empty = found.code, found.name, not found.assumptions
    key = "monitoring.cli.assumptions_cleared" if empty else "monitoring.cli.assumptions_saved"
    typer.echo(say(key, code=code, name=name))


@monitoring_app.command("statement", help=say("monitoring.cli.help.statement"))
def statement_cmd(
    year: Annotated[int, typer.Option("--year", help=say("monitoring.cli.help.year"))],
    text_file: TextFile,
    author: Annotated[str, typer.Option("--author", help=say("monitoring.cli.help.author"))] = "",
    org: OrgOption = "",
) -> None:
    """Store the statistics office's statement for YEAR from a UTF-8 text file."""
    from workflow.monitoring.report_texts import set_statement

    typed = _read(text_file)
    rt = runtime.current()
    with _work(org) as (session, organisation):
        set_statement(
            session,
            organisation_id=organisation.id,
            year=year,
            text=typed,
            author=author,
            by="cli",
            at=rt.clock.now(),
        )
    typer.echo(say("monitoring.cli.statement_saved", year=year))
