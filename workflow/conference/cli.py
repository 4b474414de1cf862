"""``zielflow actor …`` and ``zielflow conference …``: the directory of actors, their consents,
the conferences and the invitations from the shell.

Thin commands over workflow/conference/, one transaction each. Output follows ``--lang``
(German by default); a refusal is one line on stderr and exit status 1. The sentences live in
api/locales/conference.*.json, shared with the pages.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Annotated

import typer

from workflow import cli_lang, runtime
from workflow.cli_work import organisation_work

if TYPE_CHECKING:  # the models load on first use, so --help stays quick
    from datetime import date

    from sqlalchemy.orm import Session

    from workflow.catalogue.models import Organisation

ACTOR = "cli"


def _t(key: str, **params: object) -> str:
    from api.i18n import translate

    return translate(key, cli_lang.current(), **params)


actor_app = typer.Typer(no_args_is_help=True, help=_t("conference.cli.help.actor"))
conference_app = typer.Typer(no_args_is_help=True, help=_t("conference.cli.help.conference"))
OrgOption = Annotated[str, typer.Option("--org", help=_t("conference.cli.help.org"))]
Purpose = Annotated[str, typer.Option("--purpose", help=_t("conference.cli.help.purpose"))]


def _work(org: str) -> AbstractContextManager[tuple[Session, Organisation]]:
    """One transaction on the organisation; a refusal ends the command with its sentence."""
    from workflow.conference.errors import ConferenceRefused

    return organisation_work(
        org,
        ConferenceRefused,
        lambda refused: _t(f"conference.error.{refused.code}", **refused.params),
    )


def _day(text: str, option: str) -> date:
    from workflow.forms.validation import parse_date

    day = parse_date(text)
    if day is None:
        typer.echo(_t("conference.cli.not_a_date", option=option, text=text), err=True)
        raise typer.Exit(1)
    return day


def _today(org: Organisation) -> date:
    from workflow.cycles.calendar import calendar_of

    return calendar_of(org).local_date(runtime.current().clock.now())


@actor_app.command("add", help=_t("conference.cli.help.actor_add"))
def actor_add(
    name: Annotated[str, typer.Argument(help=_t("conference.cli.help.name"))],
    kind: Annotated[str, typer.Option("--kind", help=_t("conference.cli.help.kind"))],
    email: Annotated[str, typer.Option("--email", help=_t("conference.cli.help.email"))] = "",
    contact: Annotated[str, typer.Option("--contact", help=_t("conference.cli.help.contact"))] = "",
    language: Annotated[
        str, typer.Option("--language", help=_t("conference.cli.help.language"))
    ] = "de",
    org: OrgOption = "",
) -> None:
    from workflow.conference.actors import add_actor

    with _work(org) as (session, organisation):
        actor = add_actor(
            session,
            organisation_id=organisation.id,
            name=name,
            kind=kind,
            email=email,
            contact_name=contact,
            language=language,
            now=runtime.current().clock.now(),
        )
        line = _t(
            "conference.cli.actor_added",
            id=actor.id,
            name=actor.name,
            kind=_t(f"conference.kind.{actor.kind}"),
        )
    typer.echo(line)


@actor_app.command("consent", help=_t("conference.cli.help.actor_consent"))
def actor_consent(
    actor_id: Annotated[int, typer.Argument(help=_t("conference.cli.help.actor_id"))],
    purpose: Purpose,
    given_on: Annotated[str, typer.Option("--given-on", help=_t("conference.cli.help.given_on"))],
    how: Annotated[str, typer.Option("--how", help=_t("conference.cli.help.how"))],
    org: OrgOption = "",
) -> None:
    from workflow.conference.actors import actor_of
    from workflow.conference.consent import record_consent

    day = _day(given_on, "--given-on")
    with _work(org) as (session, organisation):
        actor = actor_of(session, organisation_id=organisation.id, actor_id=actor_id)
        consent = record_consent(
            session,
            actor=actor,
            purpose=purpose,
            given_on=day,
            how=how,
            recorded_by=ACTOR,
            today=_today(organisation),
            now=runtime.current().clock.now(),
        )
        line = _t(
            "conference.cli.consent_recorded",
            name=actor.name,
            purpose=_t(f"conference.purpose.{consent.purpose}"),
            day=consent.given_on.strftime("%d.%m.%Y"),
        )
    typer.echo(line)


@actor_app.command("withdraw", help=_t("conference.cli.help.actor_withdraw"))
def actor_withdraw(
    actor_id: Annotated[int, typer.Argument(help=_t("conference.cli.help.actor_id"))],
    purpose: Purpose,
    how: Annotated[str, typer.Option("--how", help=_t("conference.cli.help.withdrawn_how"))] = "",
    org: OrgOption = "",
) -> None:
    from api.i18n import translate_plural
    from workflow.conference.actors import actor_of
    from workflow.conference.consent import withdraw_consent
    from workflow.conference.errors import ConferenceRefused

    with _work(org) as (session, organisation):
        actor = actor_of(session, organisation_id=organisation.id, actor_id=actor_id)
        withdrawn = withdraw_consent(
            session,
            actor=actor,
            purpose=purpose,
            how=how or _t("conference.cli.withdrawn_how"),
            now=runtime.current().clock.now(),
        )
        if not withdrawn:
            raise ConferenceRefused("no_consent")
        line = translate_plural(
            "conference.cli.withdrawn", withdrawn, cli_lang.current(), name=actor.name
        )
    typer.echo(line)


@actor_app.command("list", help=_t("conference.cli.help.actor_list"))
def actor_list(org: OrgOption = "") -> None:
    from workflow.conference.actors import list_actors
    from workflow.conference.consent import has_consent
    from workflow.conference.models import ConsentPurpose

    with _work(org) as (session, organisation):
        today = _today(organisation)
        lines = [
            "  ".join(
                part
                for part in (
                    str(a.id),
                    a.name,
                    _t(f"conference.kind.{a.kind}"),
                    a.email,
                    _t("conference.cli.consent_mark")
                    if has_consent(
                        session, actor=a, purpose=ConsentPurpose.INVITATIONS, today=today
                    )
                    else "",
                )
                if part
            )
            for a in list_actors(session, organisation_id=organisation.id)
        ]
    typer.echo("\n".join(lines) if lines else _t("conference.cli.no_actors"))


@conference_app.command("add", help=_t("conference.cli.help.conference_add"))
def conference_add(
    title: Annotated[str, typer.Option("--title", help=_t("conference.cli.help.title"))],
    held_on: Annotated[str, typer.Option("--date", help=_t("conference.cli.help.date"))],
    place: Annotated[str, typer.Option("--place", help=_t("conference.cli.help.place"))] = "",
    time_label: Annotated[str, typer.Option("--time", help=_t("conference.cli.help.time"))] = "",
    org: OrgOption = "",
) -> None:
    from workflow.conference.conferences import create_conference

    day = _day(held_on, "--date")
    with _work(org) as (session, organisation):
        conference = create_conference(
            session,
            organisation_id=organisation.id,
            title=title,
            held_on=day,
            place=place,
            time_label=time_label,
            created_by=ACTOR,
            now=runtime.current().clock.now(),
        )
        line = _t(
            "conference.cli.conference_added",
            id=conference.id,
            title=conference.title,
            day=conference.held_on.strftime("%d.%m.%Y"),
            code=conference.survey_code,
        )
    typer.echo(line)


@conference_app.command("invite", help=_t("conference.cli.help.conference_invite"))
def conference_invite(
    conference_id: Annotated[int, typer.Argument(help=_t("conference.cli.help.conference_id"))],
    org: OrgOption = "",
) -> None:
    from workflow.conference.conferences import conference_of
    from workflow.conference.invitations import invite

    with _work(org) as (session, organisation):
        conference = conference_of(
            session, organisation_id=organisation.id, conference_id=conference_id
        )
        result = invite(
            session,
            conference=conference,
            today=_today(organisation),
            now=runtime.current().clock.now(),
            by=ACTOR,
        )
        line = _t(
            "conference.cli.invited",
            title=conference.title,
            invited=result.invited,
            already=result.already_invited,
            without_consent=result.without_consent,
            without_address=result.without_address,
        )
    typer.echo(line)
