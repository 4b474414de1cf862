"""``zielflow body …`` and ``zielflow member …``: bodies and their members from the shell.

Thin commands over workflow/bodies/service.py, one transaction each. BODY is a body's name
or id everywhere. Codes may be typed as the code or as their German or English label
("Steuerungsgruppe", "steering_group"). Output follows ``--lang`` (German by default); a
refusal is one line and exit status 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from workflow import cli_lang, runtime
from workflow.cli_text import say
from workflow.db import unit_of_work

if TYPE_CHECKING:  # the models load on first use, so --help stays quick
    from sqlalchemy.orm import Session

    from workflow.bodies.errors import BodyError
    from workflow.catalogue.models import Organisation

body_app = typer.Typer(no_args_is_help=True, help=say("help.group.body"))
member_app = typer.Typer(no_args_is_help=True, help=say("help.group.member"))

OrgOption = Annotated[str, typer.Option("--org", help=say("help.opt.org"))]
BodyArg = Annotated[str, typer.Argument(help=say("help.arg.body"))]
EmailArg = Annotated[str, typer.Argument(help=say("help.arg.email"))]


def _say(exc: BodyError) -> str:
    from api.body_text import error_text

    return error_text(exc, cli_lang.current())


@contextmanager
def _work(org: str) -> Iterator[tuple[Session, Organisation, date]]:
    """One transaction on the organisation, its local today; a refusal ends the command."""
    from workflow.bodies.errors import BodyError
    from workflow.cycles.calendar import calendar_of
    from workflow.orgs import resolve_organisation

    rt = runtime.current()
    try:
        with unit_of_work(rt.sessions) as session:
            organisation = resolve_organisation(session, org or rt.settings.organisation)
            today = calendar_of(organisation).local_date(rt.clock.now())
            yield session, organisation, today
    except BodyError as exc:
        typer.echo(_say(exc), err=True)
        raise typer.Exit(1) from None


def code_of(kind: type[StrEnum], text: str, error: str) -> str:
    """The code a person typed as code or label, case and spaces ignored."""
    from api.i18n import translate
    from workflow.bodies.errors import BodyError
    from workflow.bodies.models import BodyKind, DigestCadence, MemberRole, Represents

    prefix = {
        BodyKind: "body.kind",
        DigestCadence: "body.cadence",
        Represents: "member.represents",
        MemberRole: "member.role",
    }[kind]
    wanted = " ".join(text.split()).casefold()
    for member in kind:
        names = {member.value}
        names |= {translate(f"{prefix}.{member.value}", lang) for lang in ("de", "en")}
        if wanted in {n.casefold() for n in names}:
            return member.value
    raise BodyError(error, value=text, allowed=", ".join(m.value for m in kind))


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        typer.echo(say("common.not_a_date", option=option, text=text), err=True)
        raise typer.Exit(1) from None


@body_app.command("add", help=say("help.body_add"))
def body_add(
    name: Annotated[str, typer.Argument(help=say("help.arg.body_name"))],
    kind: Annotated[str, typer.Option("--kind", help=say("help.opt.body_kind"))],
    meetings: Annotated[
        int | None, typer.Option("--meetings", help=say("help.opt.meetings"))
    ] = None,
    digest: Annotated[str, typer.Option("--digest", help=say("help.opt.digest"))] = "",
    org: OrgOption = "",
) -> None:
    """Create a body."""
    from api.body_text import label
    from workflow.bodies import service
    from workflow.bodies.models import BodyKind, DigestCadence

    with _work(org) as (session, organisation, _):
        body = service.create_body(
            session=session,
            organisation_id=organisation.id,
            name=name,
            kind=code_of(BodyKind, kind, "unknown_kind"),
            digest_cadence=code_of(DigestCadence, digest, "unknown_cadence") if digest else None,
            meetings_per_year=meetings,
        )
        kind_shown = label("body.kind", body.kind, cli_lang.current())
        line = say("body.added", name=body.name, kind=kind_shown, number=body.id)
    typer.echo(line)


@body_app.command("list", help=say("help.body_list"))
def body_list(org: OrgOption = "") -> None:
    """List the bodies with their current members and where their composition falls short."""
    from api.body_text import label, plural, shortfall_text
    from workflow.bodies import queries

    lang = cli_lang.current()
    lines = []
    with _work(org) as (session, organisation, today):
        for body in queries.bodies_of(session, organisation_id=organisation.id):
            s = queries.summary(session, body=body, day=today)
            kind = label("body.kind", body.kind, lang)
            members = plural("body.members", len(s.current), lang)
            lines.append(f"{body.id}  {body.name} ({kind}), {members}")
            lines += [say("body.missing", text=shortfall_text(f, lang)) for f in s.shortfalls]
    typer.echo("\n".join(lines) if lines else say("body.none"))


@member_app.command("add", help=say("help.member_add"))
def member_add(
    body: BodyArg,
    email: EmailArg,
    name: Annotated[str, typer.Option("--name", help=say("help.opt.member_name"))],
    represents: Annotated[str, typer.Option("--represents", help=say("help.opt.represents"))] = "",
    represents_name: Annotated[
        str, typer.Option("--represents-name", help=say("help.opt.represents_name"))
    ] = "",
    role: Annotated[str, typer.Option("--role", help=say("help.opt.member_role"))] = "member",
    language: Annotated[str, typer.Option("--language", help=say("help.opt.language"))] = "de",
    salutation: Annotated[str, typer.Option("--salutation", help=say("help.opt.salutation"))] = "",
    deputy_of: Annotated[str, typer.Option("--deputy-of", help=say("help.opt.deputy_of"))] = "",
    joined: Annotated[str, typer.Option("--from", help=say("help.opt.joined"))] = "",
    org: OrgOption = "",
) -> None:
    """Add a member to BODY; a deputy names the member they stand in for with --deputy-of."""
    from api.body_text import fmt_day
    from workflow.bodies import members, queries
    from workflow.bodies.checks import UNSET
    from workflow.bodies.models import MemberRole, Represents

    joined_on = _day(joined, "--from") if joined else None
    with _work(org) as (session, organisation, today):
        the_body = queries.find_body(session, organisation_id=organisation.id, ref=body)
        member = members.add_member(
            session=session,
            body=the_body,
            name=name,
            email=email,
            today=today,
            language=language,
            salutation=salutation,
            represents=(
                code_of(Represents, represents, "unknown_represents") if represents else None
            ),
            represents_name=represents_name,
            role=code_of(MemberRole, role, "unknown_role"),
            deputy_of=deputy_of or None,
            joined_on=joined_on or UNSET,
        )
        line = say(
            "member.added",
            name=member.name,
            email=member.email,
            body=the_body.name,
            day=fmt_day(member.joined_on, cli_lang.current()),
        )
    typer.echo(line)


@member_app.command("end", help=say("help.member_end"))
def member_end(
    body: BodyArg,
    email: EmailArg,
    on: Annotated[str, typer.Option("--on", help=say("help.opt.on"))] = "",
    org: OrgOption = "",
) -> None:
    """End a membership; it stays in the body's history."""
    from api.body_text import fmt_day
    from workflow.bodies import members, queries
    from workflow.bodies.errors import BodyError

    day = _day(on, "--on") if on else None
    with _work(org) as (session, organisation, today):
        the_body = queries.find_body(session, organisation_id=organisation.id, ref=body)
        member = queries.open_membership(session, body=the_body, email=email)
        if member is None:
            raise BodyError("member_not_found", ref=email.strip().lower(), body=the_body.name)
        members.end_membership(session=session, member=member, on=day or today)
        line = say(
            "member.ended",
            email=member.email,
            body=the_body.name,
            day=fmt_day(member.left_on, cli_lang.current()),
        )
    typer.echo(line)


# What a person may type for "no salutation" on the command line, where "" is awkward.
NO_SALUTATION = ("keine", "none")


def _salutation_typed(text: str | None) -> str | None:
    """The salutation to store as entered; "keine"/"none" clears it, None keeps it."""
    if text is None:
        return None
    return "" if text.strip().casefold() in NO_SALUTATION else text


@member_app.command("edit", help=say("help.member_edit"))
def member_edit(
    body: BodyArg,
    email: EmailArg,
    name: Annotated[str | None, typer.Option("--name", help=say("help.opt.member_name"))] = None,
    new_email: Annotated[
        str | None, typer.Option("--email", help=say("help.opt.new_email"))
    ] = None,
    salutation: Annotated[
        str | None, typer.Option("--salutation", help=say("help.opt.new_salutation"))
    ] = None,
    represents: Annotated[
        str | None, typer.Option("--represents", help=say("help.opt.represents"))
    ] = None,
    represents_name: Annotated[
        str | None, typer.Option("--represents-name", help=say("help.opt.represents_name"))
    ] = None,
    role: Annotated[str | None, typer.Option("--role", help=say("help.opt.member_role"))] = None,
    language: Annotated[
        str | None, typer.Option("--language", help=say("help.opt.language"))
    ] = None,
    deputy_of: Annotated[
        str | None, typer.Option("--deputy-of", help=say("help.opt.deputy_of"))
    ] = None,
    org: OrgOption = "",
) -> None:
    """Correct what is given of the current member EMAIL of BODY; the rest stays."""
    from workflow.bodies import queries, service
    from workflow.bodies.errors import BodyError
    from workflow.bodies.models import MemberRole, Represents

    given = (name, new_email, salutation, represents, represents_name, role, language, deputy_of)
    if all(value is None for value in given):
        typer.echo(say("member.nothing_to_change"), err=True)
        raise typer.Exit(1)
    with _work(org) as (session, organisation, _):
        the_body = queries.find_body(session, organisation_id=organisation.id, ref=body)
        member = queries.open_membership(session, body=the_body, email=email)
        if member is None:
            raise BodyError("member_not_found", ref=email.strip().lower(), body=the_body.name)
        service.correct_member(
            session=session,
            body=the_body,
            member=member,
            email=new_email,
            name=name,
            language=language,
            salutation=_salutation_typed(salutation),
            represents=(
                code_of(Represents, represents, "unknown_represents")
                if represents is not None
                else service.UNSET
            ),
            represents_name=represents_name,
            role=code_of(MemberRole, role, "unknown_role") if role is not None else None,
            deputy_of=deputy_of if deputy_of is not None else service.UNSET,
        )
        line = say("member.changed", name=member.name, email=member.email, body=the_body.name)
    typer.echo(line)


@member_app.command("list", help=say("help.member_list"))
def member_list(
    body: BodyArg,
    history: Annotated[bool, typer.Option("--history", help=say("help.opt.history"))] = False,
    org: OrgOption = "",
) -> None:
    """List the current members of BODY (with --history also the former ones)."""
    from api.body_text import fmt_day, label
    from workflow.bodies import queries

    lang = cli_lang.current()
    lines = []
    with _work(org) as (session, organisation, today):
        the_body = queries.find_body(session, organisation_id=organisation.id, ref=body)
        s = queries.summary(session, body=the_body, day=today)
        for m in [*s.current, *s.upcoming, *(s.former if history else [])]:
            who = label("member.represents", m.represents, lang)
            if m.represents_name:
                who += f": {m.represents_name}"
            since = fmt_day(m.joined_on, lang) if m.joined_on else say("member.since_unknown")
            until = say("member.left", day=fmt_day(m.left_on, lang)) if m.left_on else ""
            role = label("member.role", m.role, lang)
            lines.append(
                say(
                    "member.line",
                    name=m.name,
                    email=m.email,
                    role=role,
                    who=who,
                    since=since,
                    until=until,
                )
            )
    typer.echo("\n".join(lines) if lines else say("member.none", body=the_body.name))
