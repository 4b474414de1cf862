"""The ``zielflow`` command line: thin commands over the services, one transaction each."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from workflow import cli_errors, runtime
from workflow.bodies.cli import body_app, member_app
from workflow.db import unit_of_work
from workflow.meetings.cli import meeting_app
from workflow.org_cli import org_app
from workflow.status_checks.cli import status_check_cmd

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="zielflow: Zielvereinbarungszyklus der kommunalen Integrationsplanung",
)
db_app = typer.Typer(no_args_is_help=True, help="Datenbank")
user_app = typer.Typer(no_args_is_help=True, help="Benutzerkonten")
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
# `org set` and `org show` live in their own module; further `org` commands can join it.
app.add_typer(org_app, name="org")
app.add_typer(body_app, name="body")
app.add_typer(member_app, name="member")
app.add_typer(meeting_app, name="meeting")
app.command("status-check")(status_check_cmd)

OrgOption = Annotated[str, typer.Option("--org", help="Kürzel der Organisation")]


@app.callback()
def _global_options(
    debug: Annotated[
        bool, typer.Option("--debug", help="bei einem Fehler auch den Traceback zeigen")
    ] = False,
) -> None:
    cli_errors.set_debug(debug)


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all database migrations."""
    from workflow.migrate import upgrade

    upgrade(runtime.current().settings.database_url)
    typer.echo("Datenbank ist auf dem neuesten Stand.")


@app.command("import-catalogue")
def import_catalogue_cmd(path: Path, org: OrgOption = "") -> None:
    """Import a catalogue (CSV or XLSX): all rows or none."""
    from workflow.catalogue.service import CatalogueInvalid, import_catalogue
    from workflow.orgs import resolve_organisation

    rt = runtime.current()
    if not path.is_file():
        _fail(f"Datei nicht gefunden: {path}")
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
    except CatalogueInvalid as exc:
        typer.echo(f"{path}: {exc}", err=True)
        for error in exc.errors:
            typer.echo(f"  {error}", err=True)
        raise typer.Exit(1) from None
    if not report.changed:
        typer.echo(f"{report.rows} Maßnahmen gelesen; nichts geändert.")
    else:
        created = ", ".join(f"{n} {k}" for k, n in sorted(report.created.items())) or "nichts"
        updated = ", ".join(f"{n} {k}" for k, n in sorted(report.updated.items())) or "nichts"
        typer.echo(f"{report.rows} Maßnahmen gelesen; neu: {created}; geändert: {updated}.")


@app.command("import-indicators")
def import_indicators_cmd(path: Path, org: OrgOption = "") -> None:
    """Import indicators and earlier values (CSV or XLSX) after the catalogue: all rows or none."""
    from workflow.cycles.calendar import calendar_of
    from workflow.indicators.importer import IndicatorsInvalid, import_indicators
    from workflow.orgs import resolve_organisation

    rt = runtime.current()
    if not path.is_file():
        _fail(f"Datei nicht gefunden: {path}")
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
    except IndicatorsInvalid as exc:
        typer.echo(f"{path}: {exc}", err=True)
        for error in exc.errors:
            typer.echo(f"  {error}", err=True)
        raise typer.Exit(1) from None
    if not report.changed:
        typer.echo(f"{report.rows} Kennzahlen gelesen; nichts geändert.")
    else:
        created = ", ".join(f"{n} {k}" for k, n in sorted(report.created.items())) or "nichts"
        updated = ", ".join(f"{n} {k}" for k, n in sorted(report.updated.items())) or "nichts"
        typer.echo(f"{report.rows} Kennzahlen gelesen; neu: {created}; geändert: {updated}.")


@app.command("export-catalogue")
def export_catalogue_cmd(path: Path, org: OrgOption = "") -> None:
    """Export the catalogue as CSV (or XLSX if PATH ends in .xlsx)."""
    from workflow.catalogue.service import export_catalogue
    from workflow.orgs import resolve_organisation

    rt = runtime.current()
    with unit_of_work(rt.sessions) as session:
        organisation = resolve_organisation(session, org or rt.settings.organisation)
        n = export_catalogue(session=session, organisation_id=organisation.id, path=path)
    typer.echo(f"{n} Maßnahmen nach {path} geschrieben.")


@app.command("open-cycle")
def open_cycle_cmd(
    year: int,
    org: OrgOption = "",
    confirm: Annotated[
        bool, typer.Option("--confirm", help="ein Jahr außerhalb von Vorjahr bis Folgejahr")
    ] = False,
) -> None:
    """Open YEAR's cycle for every active measure (again: adds only what is missing)."""
    from api.i18n import translate
    from workflow.cycles.calendar import calendar_of
    from workflow.cycles.service import check_new_cycle_year, open_cycle
    from workflow.orgs import resolve_organisation
    from workflow.readiness import check as setup_warnings

    rt = runtime.current()
    if not 2000 <= year <= 2100:
        _fail(f"Jahr {year} liegt außerhalb von 2000–2100.")
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
    typer.echo(
        f"Zyklus {year}: {result.created} neu eröffnet, {result.carried_forward} fortgeschrieben, "
        f"{result.already_open} schon offen."
    )
    for earlier, codes in sorted(result.running_in.items()):  # named, never skipped silently
        one = len(codes) == 1
        typer.echo(
            f"{len(codes)} {'Maßnahme läuft' if one else 'Maßnahmen laufen'} noch im Zyklus "
            f"{earlier} weiter und {'erscheint' if one else 'erscheinen'} im Zyklus {year} als "
            f"übernommen: {', '.join(codes)}."
        )
    for w in warnings:  # the cycle is open; these only keep escalations from reaching anyone
        typer.echo("Hinweis: " + translate(f"readiness.{w.finding}", "de", name=w.name), err=True)


@user_app.command("add")
def user_add(
    email: str,
    role: Annotated[str, typer.Option("--role", help="coordinator, steering oder admin")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
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
        _fail(f"Unbekannte Rolle '{role}'. Erlaubt: coordinator, steering, admin.")
        return
    try:
        email = normalise_email(email)  # before the password prompt: no typing in vain
    except AccountRefused as exc:
        _fail(_account_refusal(exc))
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Passwort", hide_input=True, confirmation_prompt=True)
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
        _fail(str(exc))
    except AccountRefused as exc:
        _fail(_account_refusal(exc))
    typer.echo(f"Konto {email} ({chosen.value}) gespeichert.")


@user_app.command("deactivate")
def user_deactivate(email: str, org: OrgOption = "") -> None:
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
    if was_active:
        typer.echo(f"Konto {address} deaktiviert; seine Sitzungen und API-Tokens sind beendet.")
    else:
        typer.echo(f"Konto {address} ist schon deaktiviert.")


def _account_refusal(exc: Exception) -> str:
    code = getattr(exc, "code", "")
    params: dict[str, str] = getattr(exc, "params", {})
    # What a user typed is shown, but never as a second line or a terminal escape.
    email = "".join(c if c.isprintable() else "?" for c in params.get("email", ""))
    if code == "invalid_email":
        return f"'{email}' ist keine gültige E-Mail-Adresse."
    if code == "other_organisation":
        return (
            f"Das Konto {email} gehört zu einer anderen Organisation; "
            "es wird hier weder geändert noch deaktiviert."
        )
    if code == "unknown_account":
        return f"Kein Konto mit der Adresse {email}."
    return f"Das Konto {email} lässt sich so nicht ändern."


@app.command("sweep")
def sweep_cmd() -> None:
    """Run one sweep, queue the digests that are due, and send everything sendable now."""
    from workflow.tasks import tick

    report = tick(runtime.current())
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(report.send.by_kind.items())) or "keine"
    typer.echo(
        f"Sweep: {report.sweep.examined} fällig geprüft, {report.sweep.reminders} Erinnerungen, "
        f"{report.sweep.escalations} Eskalationen, {report.sweep.moved} Phasenwechsel, "
        f"{report.digests} Digests. Versand: {report.send.emails_sent} E-Mails ({kinds}), "
        f"{report.send.retried} später erneut, {report.send.dead} unzustellbar."
    )


@app.command("simulate")
def simulate_cmd(
    start: Annotated[str, typer.Option(help="first simulated day, YYYY-MM-DD")],
    days: Annotated[int, typer.Option(min=1, max=3660)] = 365,
    seed: int = 1,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
    catalogue: Annotated[Path | None, typer.Option(help="catalogue to simulate")] = None,
    database_url: Annotated[
        str, typer.Option(help="database to fill; default: a new SQLite file under var/simulation/")
    ] = "",
) -> None:
    """Run the real engine through DAYS simulated days and print what happened."""
    import json
    from datetime import date

    from workflow.demo import EXAMPLE_CATALOGUE, EXAMPLE_INDICATORS
    from workflow.simulate import run_simulation

    try:
        first = date.fromisoformat(start)
    except ValueError:
        _fail(f"--start '{start}' ist kein Datum (JJJJ-MM-TT).")
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
    )
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    typer.echo(
        f"Simulation {summary['start']} bis {summary['end']} ({days} Tage, Seed {seed}), "
        f"{summary['measures']} Maßnahmen"
    )
    typer.echo(f"  Zustandswechsel: {summary['transitions']}")
    typer.echo(
        f"  E-Mails: {summary['emails_total']} "
        + ", ".join(f"{k} {n}" for k, n in summary["emails"].items())
    )
    typer.echo(
        f"  Eskalationen: Amtsleitung {summary['escalations']['department_head']}, "
        f"Gremien {summary['escalations']['steering_group']}"
    )
    digests, meetings = summary["digests"], summary["meetings"]
    typer.echo(
        f"  Übersichten an die Gremien: {digests['sent']} versandt, "
        f"{digests['skipped']} mangels Neuigkeiten nicht versandt"
    )
    typer.echo(f"  Sitzungen: {meetings['held']} abgehalten, {meetings['planned']} geplant")
    kinds = {"resolution": "Beschluss", "recommendation": "Empfehlung", "assignment": "Auftrag"}
    kinds |= {"change_proposal": "Änderungsvorschlag"}
    statuses = {"open": "offen", "in_progress": "in Bearbeitung", "done": "erledigt"}
    decided = summary["decisions"]
    typer.echo(
        "  Entscheidungen nach Art: "
        + (", ".join(f"{kinds.get(k, k)} {n}" for k, n in decided["by_kind"].items()) or "keine")
        + "; nach Stand: "
        + (", ".join(f"{statuses.get(k, k)} {n}" for k, n in decided["by_status"].items()) or "–")
    )
    typer.echo(f"  Am Ende überfällig: {summary['overdue_at_end']}")
    typer.echo(
        "  Stand am Ende: " + ", ".join(f"{k} {n}" for k, n in summary["states_at_end"].items())
    )
    typer.echo(f"  Datenbank: {database_url}")


@app.command("report")
def report_cmd(
    kind: Annotated[
        str, typer.Argument(help="status-quo, annual, meeting, council oder status-sheet")
    ],
    output: Annotated[Path, typer.Option("--output", "--out", help="Zieldatei")],
    cycle: Annotated[
        int | None, typer.Option("--cycle", help="Jahr des Zyklus (nicht bei status-sheet)")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="html oder pdf; status-sheet: sonst nach der Endung")
    ] = "",
    meeting_date: Annotated[
        str, typer.Option("--meeting-date", help="Sitzungstag JJJJ-MM-TT (nur meeting)")
    ] = "",
    report_date: Annotated[
        str, typer.Option("--report-date", help="Stichtag JJJJ-MM-TT; sonst letztes Ereignis")
    ] = "",
    field: Annotated[str, typer.Option("--field", help="Handlungsfeld (nur status-sheet)")] = "",
    org: OrgOption = "",
) -> None:
    """Write a report (Status-Quo-Bericht, Jahresbericht, Sitzungsunterlage) as HTML or PDF."""
    from datetime import date

    from workflow.orgs import resolve_organisation
    from workflow.reports.build import FORMATS, KINDS, ReportUnavailable, build_report

    if kind == "status-sheet":  # per field, as of today (workflow/reports/status_sheet_cli.py)
        from workflow.reports.status_sheet_cli import run as report_status_sheet

        report_status_sheet(field=field, output=output, fmt=fmt, org=org)
        return
    fmt = fmt or "html"
    if cycle is None:
        _fail("--cycle fehlt: das Jahr des Zyklus (JJJJ).")
        return
    if kind == "council":  # the Mitteilungsvorlage: docx, odt or pdf (workflow/reports/council*)
        _report_council(cycle=cycle, fmt=fmt, output=output, org=org)
        return
    if kind not in KINDS:
        _fail(f"Unbekannter Bericht '{kind}'. Möglich: {', '.join(KINDS)}.")
    if fmt not in FORMATS:
        _fail(f"Unbekanntes Format '{fmt}'. Möglich: {', '.join(FORMATS)}.")
    days: dict[str, date | None] = {}
    for name, text in (("--meeting-date", meeting_date), ("--report-date", report_date)):
        try:
            days[name] = date.fromisoformat(text) if text else None
        except ValueError:
            _fail(f"{name} '{text}' ist kein Datum (JJJJ-MM-TT).")
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
        _fail(str(exc))
        return
    output.write_bytes(rendered.content)
    typer.echo(f"{rendered.filename}: {len(rendered.content)} Bytes nach {output} geschrieben.")


def _report_council(*, cycle: int, fmt: str, output: Path, org: str) -> None:
    from workflow.orgs import resolve_organisation
    from workflow.reports.council_render import build_council
    from workflow.reports.data import ReportUnavailable

    rt = runtime.current()
    try:
        with rt.sessions() as session, session.begin():
            organisation = resolve_organisation(session, org or rt.settings.organisation)
            rendered = build_council(
                session, organisation_id=organisation.id, year=cycle, fmt=fmt
            )
    except ReportUnavailable as exc:
        _fail(str(exc))
        return
    output.write_bytes(rendered.content)
    typer.echo(f"Ratsvorlage {cycle} ({fmt.upper()}) nach {output} geschrieben.")


@app.command("export-answers")
def export_answers_cmd(
    path: Path,
    cycle: Annotated[int, typer.Option("--cycle", help="Jahr des Zyklus")],
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
        _fail(str(exc))
        return
    path.write_bytes(to_xlsx(table) if path.suffix.lower() == ".xlsx" else to_csv(table))
    typer.echo(f"{len(table.rows)} Maßnahmen des Zyklus {cycle} nach {path} geschrieben.")


@app.command("diagram")
def diagram() -> None:
    """Print the state machine as a Mermaid diagram."""
    from workflow.machine import to_mermaid

    typer.echo(to_mermaid(), nl=False)


@app.command("serve")
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            "--forwarded-allow-ips",
            help="Proxys, deren X-Forwarded-For gilt (IPs/Netze mit Komma, '' für keine); "
            "Vorgabe: ZIELFLOW_FORWARDED_ALLOW_IPS",
        ),
    ] = None,
) -> None:
    """Serve the API, the dashboard and the forms."""
    import uvicorn

    trusted = runtime.current().settings.forwarded_allow_ips
    trusted = (trusted if forwarded_allow_ips is None else forwarded_allow_ips).strip()
    # Only a trusted proxy may name the client (login limits count per address); uvicorn's
    # own FORWARDED_ALLOW_IPS environment variable is not consulted.
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or "",
    )


@app.command("worker")
def worker(
    beat: Annotated[
        bool, typer.Option("--beat", help="also run the scheduler (one process only)")
    ] = False,
    concurrency: int = 2,
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


@app.command("beat")
def beat() -> None:
    """Run the Celery beat scheduler (run exactly one; a second one does no harm, only noise)."""
    from workflow.celery_app import app as celery

    celery.start(["beat", "--loglevel=INFO", f"--schedule={_beat_schedule_file()}"])


def _beat_schedule_file() -> str:
    var = runtime.current().settings.var_dir
    var.mkdir(parents=True, exist_ok=True)
    return str(var / "celerybeat-schedule")


@app.command("demo")
def demo(
    port: int = 8000,
    smtp_port: Annotated[int, typer.Option(help="port of the local SMTP sink")] = 0,
    catalogue: Annotated[Path | None, typer.Option(help="catalogue to import")] = None,
) -> None:
    """Everything in one process group: database, example data, API, worker with beat, mail sink."""
    from workflow.demo import run_demo

    run_demo(port=port, smtp_port=smtp_port, catalogue=catalogue, today=datetime.now())


def main() -> None:
    # Known errors (settings, database, organisation, files) end as one German line, status 1:
    # workflow/cli_errors.py words them, so no command catches them itself.
    cli_errors.run(app)


if __name__ == "__main__":
    main()
