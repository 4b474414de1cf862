"""``zielflow status-check``: start a status check (Sachstandsabfrage) from the shell, or close one.

A thin command over workflow/status_checks/service.py, one transaction. Output follows
``--lang`` (German by default); a refusal of the core is one line on standard error and exit
status 1 (errors of settings, database and organisation end the same way through
workflow/cli_errors.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from workflow import cli_lang, runtime
from workflow.cli_text import say, say_n
from workflow.db import unit_of_work

if TYPE_CHECKING:  # the models load on first use, so --help stays quick
    from sqlalchemy.orm import Session

    from workflow.catalogue.models import Organisation

ACTOR_PREFIX = "cli"


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(1)


@contextmanager
def _work(org: str) -> Iterator[tuple[Session, Organisation]]:
    """One transaction on the organisation; a refusal ends the command with its sentence."""
    from api.status_check_text import error_text
    from workflow.orgs import resolve_organisation
    from workflow.status_checks.errors import StatusCheckRefused

    rt = runtime.current()
    try:
        with unit_of_work(rt.sessions) as session:
            yield session, resolve_organisation(session, org or rt.settings.organisation)
    except StatusCheckRefused as exc:
        typer.echo(error_text(exc, cli_lang.current()), err=True)
        raise typer.Exit(1) from None


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        _fail(say("common.not_a_date", option="--due", text=text))
        raise  # unreachable: _fail ends the command


def _actor() -> str:
    import getpass

    try:
        return f"{ACTOR_PREFIX}:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in a bare container
        return ACTOR_PREFIX


def status_check_cmd(
    cycle: Annotated[int | None, typer.Option("--cycle", help=say("help.opt.sc_cycle"))] = None,
    due: Annotated[str, typer.Option("--due", help=say("help.opt.due"))] = "",
    field: Annotated[str, typer.Option("--field", help=say("help.opt.sc_field"))] = "",
    goal: Annotated[str, typer.Option("--goal", help=say("help.opt.goal"))] = "",
    department: Annotated[str, typer.Option("--department", help=say("help.opt.department"))] = "",
    measure: Annotated[
        list[str] | None, typer.Option("--measure", help=say("help.opt.measure"))
    ] = None,
    title: Annotated[str, typer.Option("--title", help=say("help.opt.sc_title"))] = "",
    close: Annotated[int | None, typer.Option("--close", help=say("help.opt.close"))] = None,
    org: Annotated[str, typer.Option("--org", help=say("help.opt.org"))] = "",
) -> None:
    """Start a status check (Sachstandsabfrage) of the chosen measures, or close one with --close."""
    if close is not None:
        _close(close, org)
        return
    if cycle is None or not due:
        _fail(say("status_check.arguments"))
    assert cycle is not None
    if not 2000 <= cycle <= 2100:
        _fail(say("common.year_range", year=cycle))
    _start(
        cycle=cycle,
        due_on=_day(due),
        field=field,
        goal=goal,
        department=department,
        measures=tuple(measure or ()),
        title=title,
        org=org,
    )


def _start(
    *,
    cycle: int,
    due_on: date,
    field: str,
    goal: str,
    department: str,
    measures: tuple[str, ...],
    title: str,
    org: str,
) -> None:
    from sqlalchemy import func, select

    from workflow.status_checks.models import StatusCheckItem, StatusCheckRequest
    from workflow.status_checks.selection import Selection
    from workflow.status_checks.service import open_status_check

    selection = Selection(field=field, goal=goal, department=department, measure_codes=measures)
    with _work(org) as (session, organisation):
        check = open_status_check(
            session,
            clock=runtime.current().clock,
            organisation_id=organisation.id,
            selection=selection,
            due_on=due_on,
            actor=_actor(),
            title=" ".join(title.split()),
            cycle_year=cycle,
        )
        contacts = (
            session.scalar(
                select(func.count()).where(StatusCheckRequest.status_check_id == check.id)
            )
            or 0
        )
        asked = (
            session.scalar(select(func.count()).where(StatusCheckItem.status_check_id == check.id))
            or 0
        )
        skipped = int((check.selection or {}).get("skipped_without_contact", 0))
        number, due_shown = check.id, _shown_day(check.due_on)
    line = say(
        "status_check.started",
        number=number,
        due=due_shown,
        contacts=say_n("count.contacts", contacts),
        measures=say_n("count.measures", asked),
    )
    if skipped:
        line += say("status_check.skipped", measures=say_n("count.measures", skipped))
    typer.echo(line + ".")


def _shown_day(day: date) -> str:
    # 31.03.2026 in German, 2026-03-31 in English (as the pages write it).
    return day.strftime("%d.%m.%Y") if cli_lang.current() == "de" else day.isoformat()


def _close(number: int, org: str) -> None:
    from workflow.status_checks.service import close_status_check

    with _work(org) as (session, organisation):
        close_status_check(
            session,
            clock=runtime.current().clock,
            organisation_id=organisation.id,
            status_check_id=number,
            actor=_actor(),
        )
    typer.echo(say("status_check.closed", number=number))
