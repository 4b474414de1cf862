"""``zielflow meeting …``: plan a body's meetings and their agenda from the shell.

Thin commands over workflow/meetings/, one transaction each; BODY is a body's name or id.
Output follows ``--lang`` (German by default) with real plurals; a refusal is one line and
exit status 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from workflow import cli_lang, runtime
from workflow.cli_text import say
from workflow.db import unit_of_work

if TYPE_CHECKING:  # the models load on first use, so --help stays quick
    from sqlalchemy.orm import Session

    from workflow.bodies.models import Meeting
    from workflow.catalogue.models import Organisation
    from workflow.meetings.agenda import ProposedItem

meeting_app = typer.Typer(no_args_is_help=True, help=say("help.group.meeting"))

OrgOption = Annotated[str, typer.Option("--org", help=say("help.opt.org"))]
BodyArg = Annotated[str, typer.Argument(help=say("help.arg.body"))]


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
        typer.echo(error_text(exc, cli_lang.current()), err=True)
        raise typer.Exit(1) from None


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        typer.echo(say("common.not_a_date", option="--date", text=text), err=True)
        raise typer.Exit(1) from None


def _meeting_line(meeting: Meeting, items: int) -> str:
    from api.body_text import plural
    from api.meeting_text import when

    lang = cli_lang.current()
    parts = [f"{meeting.id}", when(meeting, lang)]
    if meeting.place:
        parts.append(meeting.place)
    if meeting.title:
        parts.append(meeting.title)
    return "  ".join(parts) + f" – {plural('meeting.items', items, lang)}"


@meeting_app.command("add", help=say("help.meeting_add"))
def meeting_add(
    body: BodyArg,
    held_on: Annotated[str, typer.Option("--date", help=say("help.opt.meeting_day"))],
    starts_at: Annotated[str, typer.Option("--time", help=say("help.opt.time"))] = "",
    place: Annotated[str, typer.Option("--place", help=say("help.opt.place"))] = "",
    title: Annotated[str, typer.Option("--title", help=say("help.opt.title"))] = "",
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
        where = say("meeting.where", place=meeting.place) if meeting.place else ""
        line = say(
            "meeting.added",
            body=the_body.name,
            when=when(meeting, cli_lang.current()),
            where=where,
            number=meeting.id,
        )
    typer.echo(line)


@meeting_app.command("list", help=say("help.meeting_list"))
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
    typer.echo("\n".join(lines) if lines else say("meeting.none", body=the_body.name))


def _proposal_lines(items: list[ProposedItem]) -> list[str]:
    from api.meeting_text import kind_label, reason_text

    lang = cli_lang.current()
    lines = []
    for n, item in enumerate(items, start=1):
        lines.append(f"{n}. {kind_label(item.kind, lang)}: {item.title}")
        reason = reason_text(item.reason, item.details, lang)
        if reason:
            lines.append(f"   {reason}")
    return lines


@meeting_app.command("agenda", help=say("help.meeting_agenda"))
def meeting_agenda(
    meeting_id: Annotated[int, typer.Argument(help=say("help.arg.meeting"), min=1, max=2**31 - 1)],
    propose: Annotated[bool, typer.Option("--propose", help=say("help.opt.propose"))] = False,
    accept: Annotated[bool, typer.Option("--accept", help=say("help.opt.accept"))] = False,
    org: OrgOption = "",
) -> None:
    """Show the agenda of a meeting; --propose shows the proposal, --accept stores it."""
    from api.body_text import fmt_day, plural
    from api.meeting_text import kind_label
    from workflow.meetings import agenda, queries
    from workflow.meetings.agenda import AgendaEntry
    from workflow.meetings.models import AgendaKind

    now, lang = runtime.current().clock.now(), cli_lang.current()
    with _work(org) as (session, organisation):
        meeting = queries.get_meeting(
            session, organisation_id=organisation.id, meeting_id=meeting_id
        )
        day = fmt_day(meeting.held_on, lang)
        if not (propose or accept):
            items = queries.agenda_of(session, meeting.id)
            lines = [
                say(
                    "meeting.item",
                    position=i.position,
                    kind=kind_label(i.kind, lang),
                    title=i.title,
                )
                for i in items
            ]
            if not lines:
                lines = [say("meeting.agenda_open", day=day, number=meeting.id)]
        else:
            proposal = agenda.propose_agenda(session=session, meeting_id=meeting.id, now=now)
            count = plural("meeting.items", len(proposal), lang)
            lines = [say("meeting.proposed", day=day, count=count)]
            lines += _proposal_lines(proposal)
            if not proposal:
                lines = [say("meeting.no_proposal", day=day)]
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
                    say("meeting.stored", count=plural("meeting.items", len(stored), lang))
                )
    typer.echo("\n".join(lines))
