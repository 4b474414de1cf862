"""The ``zielflow`` command line: thin commands over the services, one transaction each."""

from __future__ import annotations

import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from workflow import cli_errors, cli_help, cli_lang, membership_cli, runtime
from workflow.cli_text import count, has, say, say_n
from workflow.db import unit_of_work

if TYPE_CHECKING:  # the terms load the models, which --help never needs
    from workflow.cycles.code_copy import StaleCopy
    from workflow.cycles.pipeline_store import Difference
    from workflow.terms import Terms

# Every help text below is read while the tree is built, so the language (``--lang en`` or
# ZIELFLOW_LANG anywhere on the line) is chosen first; the callback sets it again for runs
# in one process (tests), where the tree already exists.
cli_lang.set_language(cli_lang.from_argv(sys.argv))
cli_help.localise_help()

app = typer.Typer(no_args_is_help=True, add_completion=False, help=say("help.app"))
db_app = typer.Typer(no_args_is_help=True, help=say("help.group.db"))
user_app = typer.Typer(no_args_is_help=True, help=say("help.group.user"))
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")


def _add_groups() -> None:
    """The command groups of their own modules, imported once the language is chosen."""
    from workflow.bodies.cli import body_app, member_app
    from workflow.meetings.cli import meeting_app
    from workflow.operator_cli import operator_app
    from workflow.org_cli import org_app
    from workflow.status_checks.cli import status_check_cmd

    # `org set` and `org show` live in their own module; further `org` commands can join it.
    app.add_typer(org_app, name="org")
    app.add_typer(operator_app, name="operator")
    app.add_typer(body_app, name="body")
    app.add_typer(member_app, name="member")
    app.add_typer(meeting_app, name="meeting")
    from workflow.privacy.cli import person_app

    app.add_typer(person_app, name="person")
    from workflow.conference.activities_cli import reports_app
    from workflow.conference.cli import actor_app, conference_app
    from workflow.conference.survey_cli import register as register_survey
    from workflow.reports.monitoring_cli import monitoring_app

    register_survey(conference_app)
    actor_app.add_typer(reports_app, name="reports")
    app.add_typer(actor_app, name="actor")
    app.add_typer(conference_app, name="conference")

    app.add_typer(monitoring_app, name="monitoring")
    app.command("status-check", help=say("help.status_check"))(status_check_cmd)
    from notifications.bounces.cli import bounces_cmd

    app.command("bounces", help=say("help.bounces"))(bounces_cmd)


_add_groups()

OrgOption = Annotated[str, typer.Option("--org", help=say("help.opt.org"))]
PathArg = Annotated[Path, typer.Argument(help=say("help.arg.path"))]


class Lang(StrEnum):  # cli_lang.LANGUAGES, as choices Typer can show and check
    de = "de"
    en = "en"


@app.callback()
def _global_options(
    debug: Annotated[bool, typer.Option("--debug", help=say("help.opt.debug"))] = False,
    lang: Annotated[
        Lang, typer.Option("--lang", envvar="ZIELFLOW_LANG", help=say("help.opt.lang"))
    ] = Lang.de,
) -> None:
    cli_lang.set_language(lang.value)
    cli_help.localise_help()
    cli_errors.set_debug(debug)


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(1)


@db_app.command("upgrade", help=say("help.db.upgrade"))
def db_upgrade() -> None:
    """Apply all database migrations."""
    from workflow.migrate import upgrade

    upgrade(runtime.current().settings.database_url)
    typer.echo(say("db.upgraded"))


@db_app.command("backup", help=say("help.db.backup"))
def db_backup(path: PathArg) -> None:
    """Copy the SQLite database while the worker runs; PostgreSQL: name the pg_dump line."""
    from workflow.backup import BackupRefused, backup

    try:
        backup(runtime.current().settings.database_url, path)
    except BackupRefused as exc:
        _fail(say(exc.key, **exc.params))
    typer.echo(say("db.backup.done", path=path))


@db_app.command("check", help=say("help.db.check"))
def db_check(
    repair: Annotated[bool, typer.Option("--repair", help=say("help.opt.repair"))] = False,
) -> None:
    """Compare the pipeline's counts table with a full count and the stays' copies of their
    measure's code with the measures; set both right with --repair."""
    from workflow.cycles import code_copy, pipeline_store

    with unit_of_work(runtime.current().sessions) as session:
        wrong = pipeline_store.check(session)
        stale = code_copy.stale_copies(session)
        if repair:
            if wrong:
                pipeline_store.repair(session)
            if stale:
                code_copy.repair_copies(session)
    if wrong:
        _name_wrong_counts(wrong)
    else:
        typer.echo(say("db.check.ok"))
    if stale:
        _name_stale_copies(stale)
    else:
        typer.echo(say("db.check.codes_ok"))
    if not wrong and not stale:
        return
    if repair:
        typer.echo(say("db.check.repaired"))
        return
    _fail(say("db.check.hint"))


def _name_wrong_counts(wrong: list[Difference]) -> None:
    from workflow.cycles.models import NO_DEADLINE

    typer.echo(say_n("db.check.differs", len(wrong)))
    for d in wrong:
        cycle, goal, department, state, level, due = d.key
        shown = say("db.check.no_due") if due == NO_DEADLINE else f"{due:%d.%m.%Y}"
        typer.echo(
            say(
                "db.check.line",
                cycle=cycle,
                goal=goal,
                department=department,
                state=state,
                level=level,
                due=shown,
                kept=d.kept,
                counted=d.counted,
            )
        )


def _name_stale_copies(stale: list[StaleCopy]) -> None:
    from workflow.cycles.code_copy import SHOWN

    typer.echo(say_n("db.check.codes_differ", len(stale)))
    for copy in stale[:SHOWN]:
        typer.echo(
            say(
                "db.check.code_line",
                id=copy.measure_cycle_id,
                copied=copy.copied if copy.copied is not None else say("db.check.no_code"),
                code=copy.code,
            )
        )
    if len(stale) > SHOWN:
        typer.echo(say_n("db.check.more", len(stale) - SHOWN))


# The importers count by kind; the indicator importer still names two of its kinds in German
# (tests/test_indicator_import.py reads them so).
_IMPORT_KINDS = {"Kennzahlen": "indicators", "Werte": "values"}
# From the whole to its parts, then who is responsible: the order a coordinator reads.
_IMPORT_ORDER: tuple[str, ...] = ("concepts", "fields", "goals", "measures", "indicators")
_IMPORT_ORDER += ("values", "departments", "heads", "contacts")


def _counts(counted: dict[str, int], terms: Terms) -> str:
    """The text "3 Maßnahmen, 1 Ziel" for the importers' counts by kind; "nichts" for none."""
    parts = []
    for kind, n in sorted(counted.items(), key=lambda item: _import_rank(item[0])):
        code = _IMPORT_KINDS.get(kind, kind)
        key = f"count.{code}"
        if code == "departments":  # "7 Ämter" or "7 Fachbereiche", as the organisation says
            parts.append(f"{count(n, cli_lang.current())} {terms.unit if n == 1 else terms.units}")
        else:
            parts.append(say_n(key, n) if has(f"{key}.one") else f"{n} {kind}")
    return ", ".join(parts) or say("common.nothing")


def _import_rank(kind: str) -> tuple[int, str]:
    code = _IMPORT_KINDS.get(kind, kind)
    return (_IMPORT_ORDER.index(code) if code in _IMPORT_ORDER else len(_IMPORT_ORDER), code)


def _import_summary(
    rows: str, created: dict[str, int], updated: dict[str, int], terms: Terms
) -> str:
    if not (any(created.values()) or any(updated.values())):
        return say("import.unchanged", rows=rows)
    return say(
        "import.changed",
        rows=rows,
        created=_counts(created, terms),
        updated=_counts(updated, terms),
    )


@app.command("import-catalogue", help=say("help.import_catalogue"))
def import_catalogue_cmd(path: PathArg, org: OrgOption = "") -> None:
    """Import a catalogue (CSV or XLSX): all rows or none."""
    from workflow.catalogue.service import CatalogueInvalid, import_catalogue
    from workflow.orgs import resolve_organisation
    from workflow.terms import terms_for

    rt = runtime.current()
    if not path.is_file():
        _fail(say("common.file_not_found", path=path))
    try:
        with unit_of_work(rt.sessions) as session:
            organisation = resolve_organisation(
                session,
                org or rt.settings.organisation,
                create=True,
                state=rt.settings.state,
                timezone=rt.settings.timezone,
            )
            report = import_catalogue(session=session, organisation_id=organisation.id, path=path)
            terms = terms_for(organisation, cli_lang.current())
    except CatalogueInvalid as exc:
        for line in cli_errors.refused_file(path, exc):
            typer.echo(line, err=True)
        raise typer.Exit(1) from None
    rows = say_n("count.measures", report.rows)
    typer.echo(_import_summary(rows, report.created, report.updated, terms))


@app.command("import-indicators", help=say("help.import_indicators"))
def import_indicators_cmd(path: PathArg, org: OrgOption = "") -> None:
    """Import indicators and earlier values (CSV or XLSX) after the catalogue: all rows or none."""
    from workflow.cycles.calendar import calendar_of
    from workflow.indicators.importer import IndicatorsInvalid, import_indicators
    from workflow.orgs import resolve_organisation
    from workflow.terms import terms_for

    rt = runtime.current()
    if not path.is_file():
        _fail(say("common.file_not_found", path=path))
    try:
        with unit_of_work(rt.sessions) as session:
            organisation = resolve_organisation(session, org or rt.settings.organisation)
            now = rt.clock.now()
            report = import_indicators(
                session=session,
                organisation_id=organisation.id,
                path=path,
                now=now,
                today=calendar_of(organisation).local_date(now),
            )
            terms = terms_for(organisation, cli_lang.current())
    except IndicatorsInvalid as exc:
        for line in cli_errors.refused_file(path, exc):
            typer.echo(line, err=True)
        raise typer.Exit(1) from None
    rows = say_n("count.indicators", report.rows)
    typer.echo(_import_summary(rows, report.created, report.updated, terms))


@app.command("export-catalogue", help=say("help.export_catalogue"))
def export_catalogue_cmd(path: PathArg, org: OrgOption = "") -> None:
    """Export the catalogue as CSV (or XLSX if PATH ends in .xlsx)."""
    from workflow.catalogue.service import export_catalogue
    from workflow.orgs import resolve_organisation

    rt = runtime.current()
    with unit_of_work(rt.sessions) as session:
        organisation = resolve_organisation(session, org or rt.settings.organisation)
        n = export_catalogue(session=session, organisation_id=organisation.id, path=path)
    typer.echo(say("export.catalogue", measures=say_n("count.measures", n), path=path))


@app.command("open-cycle", help=say("help.open_cycle"))
def open_cycle_cmd(
    year: Annotated[int, typer.Argument(help=say("help.arg.year"))],
    org: OrgOption = "",
    confirm: Annotated[bool, typer.Option("--confirm", help=say("help.opt.confirm"))] = False,
) -> None:
    """Open YEAR's cycle for every active measure (again: adds only what is missing)."""
    from api.i18n import terms_in_effect, translate
    from workflow.cycles.calendar import calendar_of
    from workflow.cycles.service import check_new_cycle_year, open_cycle
    from workflow.orgs import resolve_organisation
    from workflow.readiness import check as setup_warnings

    rt = runtime.current()
    if not 2000 <= year <= 2100:
        _fail(say("common.year_range", year=year))
    with unit_of_work(rt.sessions) as session:
        organisation = resolve_organisation(session, org or rt.settings.organisation)
        check_new_cycle_year(
            session=session,
            clock=rt.clock,
            organisation_id=organisation.id,
            year=year,
            confirmed=confirm,
        )
        result = open_cycle(
            session=session, clock=rt.clock, organisation_id=organisation.id, year=year, actor="cli"
        )
        today = calendar_of(organisation).local_date(rt.clock.now())
        warnings = setup_warnings(session, organisation_id=organisation.id, today=today)
        with terms_in_effect(organisation):  # "Fachbereich" or "Amt", as the organisation says
            hints = [
                translate(f"readiness.{w.finding}", cli_lang.current(), name=w.name)
                for w in warnings
            ]
    typer.echo(
        say(
            "open_cycle.summary",
            year=year,
            created=result.created,
            carried=result.carried_forward,
            already=result.already_open,
        )
    )
    for earlier, codes in sorted(result.running_in.items()):  # named, never skipped silently
        typer.echo(
            say_n(
                "open_cycle.running", len(codes), earlier=earlier, year=year, codes=", ".join(codes)
            )
        )
    for hint in hints:  # the cycle is open; these only keep escalations from reaching anyone
        typer.echo(say("open_cycle.hint", text=hint), err=True)


EmailArg = Annotated[str, typer.Argument(help=say("help.arg.email"))]


@user_app.command("add", help=say("help.user_add"))
def user_add(
    email: EmailArg,
    role: Annotated[str, typer.Option("--role", help=say("help.opt.role"))],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help=say("help.opt.password_stdin"))
    ] = False,
    org: OrgOption = "",
) -> None:
    """Create an account, or update one of the same organisation; the password comes from a
    prompt or standard input. An address of another organisation's account is refused."""
    from workflow.accounts import (
        AccountRefused,
        PasswordTooShort,
        Role,
        add_or_update_user,
        normalise_email,
    )
    from workflow.orgs import resolve_organisation

    try:
        chosen = Role(role)
    except ValueError:
        _fail(say("user.unknown_role", role=role))
        return
    try:
        email = normalise_email(email)  # before the password prompt: no typing in vain
    except AccountRefused as exc:
        _fail(_account_refusal(exc))
    password = sys.stdin.readline().rstrip("\n") if password_stdin else _ask_password()
    rt = runtime.current()
    try:
        with unit_of_work(rt.sessions) as session:
            organisation = resolve_organisation(session, org or rt.settings.organisation)
            add_or_update_user(
                session=session,
                organisation_id=organisation.id,
                email=email,
                role=chosen,
                password=password,
                now=rt.clock.now(),
            )
    except PasswordTooShort as exc:
        _fail(cli_errors.sentence(exc))
    except AccountRefused as exc:
        _fail(_account_refusal(exc))
    typer.echo(say("user.saved", email=email, role=chosen.value))


user_app.command("join", help=say("help.user_join"))(membership_cli.user_join)
user_app.command("leave", help=say("help.user_leave"))(membership_cli.user_leave)
user_app.command("places", help=say("help.user_places"))(membership_cli.user_places)


@user_app.command("deactivate", help=say("help.user_deactivate"))
def user_deactivate(email: EmailArg, org: OrgOption = "") -> None:
    """Switch an account off: its sessions, API tokens and reset links end at once."""
    from workflow.accounts import AccountRefused, normalise_email, user_by_email
    from workflow.orgs import resolve_organisation
    from workflow.sessions import deactivate_user

    rt = runtime.current()
    try:
        address = normalise_email(email)
        with unit_of_work(rt.sessions) as session:
            user = user_by_email(session, address)
            if user is None:
                raise AccountRefused("unknown_account", email=address)
            if org and resolve_organisation(session, org).id != user.organisation_id:
                raise AccountRefused("other_organisation", email=address)
            was_active = user.active
            if was_active:
                deactivate_user(
                    session,
                    organisation_id=user.organisation_id,
                    user_id=user.id,
                    by_user_id=None,
                    now=rt.clock.now(),
                )
    except AccountRefused as exc:
        _fail(_account_refusal(exc))
        return
    typer.echo(say("user.deactivated" if was_active else "user.already_inactive", email=address))


def _ask_password() -> str:
    """Asked twice until both match; click's own confirmation would ask and refuse in English."""
    while True:
        password: str = typer.prompt(say("user.password_prompt"), hide_input=True)
        if password == typer.prompt(say("user.password_repeat"), hide_input=True):
            return password
        typer.echo(say("user.password_mismatch"), err=True)


def _account_refusal(exc: Exception) -> str:
    code = getattr(exc, "code", "")
    params: dict[str, str] = getattr(exc, "params", {})
    # What a user typed is shown, but never as a second line or a terminal escape.
    email = "".join(c if c.isprintable() else "?" for c in params.get("email", ""))
    if code in ("invalid_email", "other_organisation", "unknown_account"):
        return say(f"user.{code}", email=email)
    return say("user.refused", email=email)


def _labelled(counted: dict[str, int], prefix: str) -> str:
    """The text "Erinnerung 2, Sammelübersicht 1" by a catalogue label per code (the code if none)."""
    shown = [(say(f"{prefix}.{k}") if has(f"{prefix}.{k}") else k, n) for k, n in counted.items()]
    return ", ".join(f"{label} {n}" for label, n in sorted(shown))


@app.command("sweep", help=say("help.sweep"))
def sweep_cmd() -> None:
    """Run one sweep, queue the digests that are due, and send everything sendable now."""
    from workflow.tasks import tick

    report = tick(runtime.current())
    typer.echo(
        say(
            "sweep.summary",
            examined=say_n("sweep.examined", report.sweep.examined),
            reminders=say_n("sweep.reminders", report.sweep.reminders),
            escalations=say_n("sweep.escalations", report.sweep.escalations),
            moved=say_n("sweep.moved", report.sweep.moved),
            digests=say_n("sweep.digests", report.digests),
            emails=say_n("sweep.emails", report.send.emails_sent),
            kinds=_labelled(report.send.by_kind, "mail_kind") or say("common.none"),
            retried=report.send.retried,
            dead=report.send.dead,
        )
    )


@app.command("simulate", help=say("help.simulate"))
def simulate_cmd(
    start: Annotated[str, typer.Option(help=say("help.opt.start"))],
    days: Annotated[int, typer.Option(min=1, max=3660, help=say("help.opt.days"))] = 365,
    seed: Annotated[int, typer.Option(help=say("help.opt.seed"))] = 1,
    as_json: Annotated[bool, typer.Option("--json", help=say("help.opt.json"))] = False,
    catalogue: Annotated[Path | None, typer.Option(help=say("help.opt.sim_catalogue"))] = None,
    database_url: Annotated[str, typer.Option(help=say("help.opt.database_url"))] = "",
    organisations: Annotated[
        int, typer.Option("--organisations", min=1, max=500, help=say("help.opt.organisations"))
    ] = 1,
) -> None:
    """Run the real engine through DAYS simulated days and print what happened."""
    import json
    from datetime import date

    from workflow.demo import EXAMPLE_CATALOGUE, EXAMPLE_INDICATORS
    from workflow.simulate import run_simulation

    try:
        first = date.fromisoformat(start)
    except ValueError:
        _fail(say("common.not_a_date", option="--start", text=start))
        return
    var = runtime.current().settings.var_dir
    if not database_url:
        target = var / "simulation" / f"simulation-{first.isoformat()}-{days}-{seed}.sqlite3"
        target.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        database_url = f"sqlite:///{target}"
    summary = run_simulation(
        database_url=database_url,
        start=first,
        days=days,
        seed=seed,
        catalogue=catalogue or EXAMPLE_CATALOGUE,
        var_dir=var,
        state=runtime.current().settings.state,
        # The example indicators name the example catalogue's goals and measures.
        indicators=EXAMPLE_INDICATORS if catalogue is None else None,
        organisations=organisations,
    )
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    _print_simulation(summary, days=days, seed=seed, database_url=database_url)


def _print_simulation(summary: dict[str, Any], *, days: int, seed: int, database_url: str) -> None:
    from api.i18n import translate

    lang = cli_lang.current()
    states = summary["states_at_end"]
    title = say(
        "simulate.title",
        start=summary["start"],
        end=summary["end"],
        days=say_n("simulate.days", days),
        seed=seed,
        measures=say_n("count.measures", summary["measures"]),
    )
    escalated, digests, meetings = summary["escalations"], summary["digests"], summary["meetings"]
    decided = summary["decisions"]
    lines = [
        title,
        say("simulate.transitions", count=summary["transitions"]),
        say(
            "simulate.emails",
            total=summary["emails_total"],
            kinds=_labelled(summary["emails"], "mail_kind") or say("common.none"),
        ),
        say(
            "simulate.escalations",
            head=escalated["department_head"],
            steering=escalated["steering_group"],
        ),
        say("simulate.digests", sent=digests["sent"], skipped=digests["skipped"]),
        say("simulate.meetings", held=meetings["held"], planned=meetings["planned"]),
        say(
            "simulate.decisions",
            kinds=_labelled(decided["by_kind"], "decision_kind") or say("common.none"),
            statuses=_labelled(decided["by_status"], "decision_status") or "–",
        ),
        say("simulate.overdue", count=summary["overdue_at_end"]),
        say(
            "simulate.states",
            states=", ".join(f"{translate(f'state.{k}', lang)} {n}" for k, n in states.items()),
        ),
        say("simulate.database", url=database_url),
    ]
    typer.echo("\n".join(lines))


@app.command("report", help=say("help.report"))
def report_cmd(
    kind: Annotated[str, typer.Argument(help=say("help.arg.report_kind"))],
    output: Annotated[Path, typer.Option("--output", "--out", help=say("help.opt.output"))],
    cycle: Annotated[int | None, typer.Option("--cycle", help=say("help.opt.report_cycle"))] = None,
    year: Annotated[int | None, typer.Option("--year", help=say("help.opt.report_year"))] = None,
    fmt: Annotated[str, typer.Option("--format", help=say("help.opt.format"))] = "",
    meeting_date: Annotated[
        str, typer.Option("--meeting-date", help=say("help.opt.meeting_date"))
    ] = "",
    report_date: Annotated[
        str, typer.Option("--report-date", help=say("help.opt.report_date"))
    ] = "",
    field: Annotated[str, typer.Option("--field", help=say("help.opt.field"))] = "",
    org: OrgOption = "",
) -> None:
    """Write a report (Status-Quo-Bericht, Jahresbericht, Sitzungsunterlage) as HTML or PDF."""
    from datetime import date

    from workflow.orgs import resolve_organisation
    from workflow.reports.build import FORMATS, KINDS, ReportUnavailable, build_report

    if kind == "monitoring":  # the monitoring report (workflow/reports/monitoring_cli.py)
        from workflow.reports.monitoring_cli import run_report

        run_report(year=year if year is not None else cycle, output=output, fmt=fmt, org=org)
        return
    if kind == "status-sheet":  # per field, as of today (workflow/reports/status_sheet_cli.py)
        from workflow.reports.status_sheet_cli import run as report_status_sheet

        report_status_sheet(field=field, output=output, fmt=fmt, org=org)
        return
    fmt = fmt or "html"
    if cycle is None:
        _fail(say("report.cycle_missing"))
        return
    if kind == "council":  # the Mitteilungsvorlage: docx, odt or pdf (workflow/reports/council*)
        _report_council(cycle=cycle, fmt=fmt, output=output, org=org)
        return
    if kind not in KINDS:
        allowed = ", ".join((*KINDS, "council", "status-sheet", "monitoring"))
        _fail(say("report.unknown_kind", kind=kind, allowed=allowed))
    if fmt not in FORMATS:
        _fail(say("report.unknown_format", fmt=fmt, allowed=", ".join(FORMATS)))
    days: dict[str, date | None] = {}
    for name, text in (("--meeting-date", meeting_date), ("--report-date", report_date)):
        try:
            days[name] = date.fromisoformat(text) if text else None
        except ValueError:
            _fail(say("common.not_a_date", option=name, text=text))
    rt = runtime.current()
    try:
        with rt.sessions() as session, session.begin():
            organisation = resolve_organisation(session, org or rt.settings.organisation)
            rendered = build_report(
                session,
                organisation_id=organisation.id,
                kind=kind,
                year=cycle,
                fmt=fmt,
                report_date=days["--report-date"],
                meeting_date=days["--meeting-date"],
            )
    except ReportUnavailable as exc:
        _fail(cli_errors.sentence(exc))
        return
    output.write_bytes(rendered.content)
    size = say_n("count.bytes", len(rendered.content))
    typer.echo(say("report.written", filename=rendered.filename, size=size, path=output))


def _report_council(*, cycle: int, fmt: str, output: Path, org: str) -> None:
    from workflow.orgs import resolve_organisation
    from workflow.reports.council_render import build_council
    from workflow.reports.data import ReportUnavailable

    rt = runtime.current()
    try:
        with rt.sessions() as session, session.begin():
            organisation = resolve_organisation(session, org or rt.settings.organisation)
            rendered = build_council(session, organisation_id=organisation.id, year=cycle, fmt=fmt)
    except ReportUnavailable as exc:
        _fail(cli_errors.sentence(exc))
        return
    output.write_bytes(rendered.content)
    typer.echo(say("report.council_written", year=cycle, fmt=fmt.upper(), path=output))


@app.command("export-answers", help=say("help.export_answers"))
def export_answers_cmd(
    path: PathArg,
    cycle: Annotated[int, typer.Option("--cycle", help=say("help.opt.cycle"))],
    org: OrgOption = "",
) -> None:
    """Export a cycle's answers, one row per measure: XLSX if PATH ends in .xlsx, else CSV."""
    from workflow.orgs import resolve_organisation
    from workflow.reports.answers import answers_table, to_csv, to_xlsx
    from workflow.reports.build import ReportUnavailable

    rt = runtime.current()
    try:
        with rt.sessions() as session, session.begin():
            organisation = resolve_organisation(session, org or rt.settings.organisation)
            table = answers_table(session, organisation_id=organisation.id, year=cycle)
    except ReportUnavailable as exc:
        _fail(cli_errors.sentence(exc))
        return
    path.write_bytes(to_xlsx(table) if path.suffix.lower() == ".xlsx" else to_csv(table))
    measures = say_n("count.measures", len(table.rows))
    typer.echo(say("report.answers_written", measures=measures, year=cycle, path=path))


@app.command("diagram", help=say("help.diagram"))
def diagram() -> None:
    """Print the state machine as a Mermaid diagram."""
    from workflow.machine import to_mermaid

    typer.echo(to_mermaid(), nl=False)


@app.command("serve", help=say("help.serve"))
def serve(
    host: Annotated[str, typer.Option(help=say("help.opt.host"))] = "127.0.0.1",
    port: Annotated[int, typer.Option(help=say("help.opt.port"))] = 8000,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option("--forwarded-allow-ips", help=say("help.opt.forwarded")),
    ] = None,
) -> None:
    """Serve the API, the dashboard and the forms."""
    import gc

    import uvicorn

    from api.app import create_app

    trusted = runtime.current().settings.forwarded_allow_ips
    trusted = (trusted if forwarded_allow_ips is None else forwarded_allow_ips).strip()
    application = create_app()
    # What exists now (the modules, the app, the mapped classes) lives as long as the process.
    # Frozen, it is no longer walked by every full garbage collection, which took up to 0.1 s
    # under load and held up every request in flight meanwhile (bench/FINDINGS.md).
    gc.collect()
    gc.freeze()
    # Only a trusted proxy may name the client (login limits count per address); uvicorn's
    # own FORWARDED_ALLOW_IPS environment variable is not consulted.
    uvicorn.run(
        application,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or "",
    )


@app.command("worker", help=say("help.worker"))
def worker(
    beat: Annotated[bool, typer.Option("--beat", help=say("help.opt.beat"))] = False,
    concurrency: Annotated[int, typer.Option(help=say("help.opt.concurrency"))] = 2,
) -> None:
    """Run a Celery worker."""
    from workflow.celery_app import app as celery

    rt = runtime.current()
    argv = ["worker", "--loglevel=INFO", "-Q", "zielflow", f"--concurrency={concurrency}"]
    if rt.settings.broker_url.startswith("sqla+"):
        # The embedded SQLite broker is single-writer; one solo process keeps it that way.
        argv.append("--pool=solo")
    if beat:
        argv += ["--beat", f"--schedule={_beat_schedule_file()}"]
    celery.worker_main(argv)


@app.command("beat", help=say("help.beat"))
def beat() -> None:
    """Run the Celery beat scheduler (run exactly one; a second one does no harm, only noise)."""
    from workflow.celery_app import app as celery

    celery.start(["beat", "--loglevel=INFO", f"--schedule={_beat_schedule_file()}"])


def _beat_schedule_file() -> str:
    var = runtime.current().settings.var_dir
    var.mkdir(parents=True, exist_ok=True)
    return str(var / "celerybeat-schedule")


@app.command("demo", help=say("help.demo"))
def demo(
    port: Annotated[int, typer.Option(help=say("help.opt.port"))] = 8000,
    smtp_port: Annotated[int, typer.Option(help=say("help.opt.smtp_port"))] = 0,
    catalogue: Annotated[Path | None, typer.Option(help=say("help.opt.demo_catalogue"))] = None,
    district: Annotated[bool, typer.Option("--district", help=say("help.opt.demo_district"))] = False,
) -> None:
    """Everything in one process group: database, example data, API, worker with beat, mail sink."""
    from workflow.demo import run_demo

    run_demo(
        port=port,
        smtp_port=smtp_port,
        catalogue=catalogue,
        today=datetime.now(),
        district=district,
    )


def lang_first(argv: list[str]) -> list[str]:
    """``--lang X`` moved to the front, wherever it was typed: it is an option of ``zielflow``
    itself, and cli_lang.from_argv already read it from anywhere on the line."""
    rest = list(argv)
    for i, arg in enumerate(rest):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(rest):
            return [*rest[i : i + 2], *rest[:i], *rest[i + 2 :]]
        if arg.startswith("--lang="):
            return [arg, *rest[:i], *rest[i + 1 :]]
    return rest


def main() -> None:
    sys.argv[1:] = lang_first(sys.argv[1:])
    # Known errors (settings, database, organisation, files) end as one German line, status 1:
    # workflow/cli_errors.py words them, so no command catches them itself.
    cli_errors.run(app)


if __name__ == "__main__":
    main()
