"""``zielflow meeting …``: plan a body's meetings and their agenda from the shell.

Thin commands over workflow/meetings/, one transaction each; BODY is a body's name or id.
Output is German with real plurals; a refusal is one German line and exit status 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from workflow import runtime
from workflow.db import unit_of_work

if TYPE_CHECKING:  # the models load on first use, so --help stays quick
    from sqlalchemy.orm import Session

    from workflow.bodies.models import Meeting
    from workflow.catalogue.models import Organisation
    from workflow.meetings.agenda import ProposedItem

meeting_app = typer.Typer(no_args_is_help=True, help="Sitzungen der Gremien")

OrgOption = Annotated[str, typer.Option("--org", help="Kürzel der Organisation")]
BodyArg = Annotated[str, typer.Argument(help="Name oder Nummer des Gremiums")]
LANG = "de"


@contextmanager
def _work(org: str) -> Iterator[tuple[Session, Organisation]]:
    """One transaction on the organisation; a refusal ends the command with its sentence."""
    from api.body_text import error_text
    from workflow.bodies.errors import BodyError
    from workflow.orgs import resolve_organisation

    rt = runtime.current()
    try:
        with unit_of_work(rt.sessions) as session:
            yield session, resolve_organisation(session, org or rt.settings.organisation)
    except BodyError as exc:
        typer.echo(error_text(exc, LANG), err=True)
        raise typer.Exit(1) from None


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        typer.echo(f"--date '{text}' ist kein Datum (JJJJ-MM-TT).", err=True)
        raise typer.Exit(1) from None


def _meeting_line(meeting: Meeting, items: int) -> str:
    from api.body_text import plural
    from api.meeting_text import when

    parts = [f"{meeting.id}", when(meeting, LANG)]
    if meeting.place:
        parts.append(meeting.place)
    if meeting.title:
        parts.append(meeting.title)
    return "  ".join(parts) + f" – {plural('meeting.items', items, LANG)}"


@meeting_app.command("add")
def meeting_add(
    body: BodyArg,
    held_on: Annotated[str, typer.Option("--date", help="Tag der Sitzung, JJJJ-MM-TT")],
    starts_at: Annotated[str, typer.Option("--time", help="Beginn, SS:MM")] = "",
    place: Annotated[str, typer.Option("--place", help="Ort")] = "",
    title: Annotated[str, typer.Option("--title", help="Titel")] = "",
    org: OrgOption = "",
) -> None:
    """Plan a meeting of BODY."""
    from api.meeting_text import when
    from workflow.bodies import queries
    from workflow.meetings import service

    day = _day(held_on)
    with _work(org) as (session, organisation):
        the_body = queries.find_body(session, organisation_id=organisation.id, ref=body)
        meeting = service.add_meeting(
            session=session,
            body_id=the_body.id,
            organisation_id=organisation.id,
            held_on=day,
            starts_at=starts_at,
            place=place,
            title=title,
            now=runtime.current().clock.now(),
        )
        where = f", Ort: {meeting.place}" if meeting.place else ""
        line = (
            f"Sitzung des Gremiums „{the_body.name}“ am {when(meeting, LANG)}{where} "
            f"angelegt, Nummer {meeting.id}. Tagesordnung vorschlagen: "
            f"zielflow meeting agenda {meeting.id} --propose"
        )
    typer.echo(line)


@meeting_app.command("list")
def meeting_list(body: BodyArg, org: OrgOption = "") -> None:
    """List the meetings of BODY, earliest first."""
    from workflow.bodies import queries
    from workflow.meetings.queries import agenda_of, meetings_of_body

    with _work(org) as (session, organisation):
        the_body = queries.find_body(session, organisation_id=organisation.id, ref=body)
        lines = [
            _meeting_line(m, len(agenda_of(session, m.id)))
            for m in meetings_of_body(session, body_id=the_body.id)
        ]
    empty = f"Für das Gremium „{the_body.name}“ ist noch keine Sitzung eingetragen."
    typer.echo("\n".join(lines) if lines else empty)


def _proposal_lines(items: list[ProposedItem]) -> list[str]:
    from api.meeting_text import kind_label, reason_text

    lines = []
    for n, item in enumerate(items, start=1):
        lines.append(f"{n}. {kind_label(item.kind, LANG)}: {item.title}")
        reason = reason_text(item.reason, item.details, LANG)
        if reason:
            lines.append(f"   {reason}")
    return lines


@meeting_app.command("agenda")
def meeting_agenda(
    meeting_id: Annotated[int, typer.Argument(help="Nummer der Sitzung", min=1, max=2**31 - 1)],
    propose: Annotated[
        bool, typer.Option("--propose", help="die aus den Daten vorgeschlagene Tagesordnung")
    ] = False,
    accept: Annotated[
        bool,
        typer.Option("--accept", help="den Vorschlag als Tagesordnung speichern (mit --propose)"),
    ] = False,
    org: OrgOption = "",
) -> None:
    """Show the agenda of a meeting; --propose shows the proposal, --accept stores it."""
    from api.body_text import fmt_day, plural
    from api.meeting_text import kind_label
    from workflow.meetings import agenda, queries
    from workflow.meetings.agenda import AgendaEntry
    from workflow.meetings.models import AgendaKind

    now = runtime.current().clock.now()
    with _work(org) as (session, organisation):
        meeting = queries.get_meeting(
            session, organisation_id=organisation.id, meeting_id=meeting_id
        )
        day = fmt_day(meeting.held_on, LANG)
        if not (propose or accept):
            items = queries.agenda_of(session, meeting.id)
            lines = [f"TOP {i.position}  {kind_label(i.kind, LANG)}: {i.title}" for i in items]
            if not lines:
                lines = [
                    f"Die Tagesordnung der Sitzung am {day} ist noch nicht festgelegt. "
                    f"Vorschlag: zielflow meeting agenda {meeting.id} --propose"
                ]
        else:
            proposal = agenda.propose_agenda(session=session, meeting_id=meeting.id, now=now)
            count = plural("meeting.items", len(proposal), LANG)
            lines = [f"Vorgeschlagen für die Sitzung am {day}: {count}"]
            lines += _proposal_lines(proposal)
            if not proposal:
                lines = [f"Für die Sitzung am {day} ergibt sich aus den Daten kein Vorschlag."]
            if accept:
                # The coordinator's own items stay, after the proposal.
                own = [
                    AgendaEntry(title=i.title, item_id=i.id)
                    for i in queries.agenda_of(session, meeting.id)
                    if i.kind == AgendaKind.OTHER.value
                ]
                stored = agenda.set_agenda(
                    session=session, meeting_id=meeting.id, items=[*proposal, *own], now=now
                )
                lines.append(
                    f"Die Tagesordnung ist gespeichert: "
                    f"{plural('meeting.items', len(stored), LANG)}."
                )
    typer.echo("\n".join(lines))
