"""``zielflow actor reports …``: ask the actors for their activities, take their count.

Thin commands over workflow/conference/activities.py, one transaction each. The texts live
in api/locales/actor_activities.*.json; output follows ``--lang``; a refusal is one line and
exit status 1. The group joins ``zielflow actor`` (workflow/conference's CLI).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from workflow import cli_lang, runtime
from workflow.cli_work import organisation_work

if TYPE_CHECKING:  # the models load on first use, so --help stays quick
    from sqlalchemy.orm import Session

    from workflow.catalogue.models import Organisation


def _say(key: str, **values: object) -> str:
    from api.i18n import translate

    return translate(key, cli_lang.current(), **values)


def _say_n(key: str, count: int, **values: object) -> str:
    from api.i18n import translate_plural

    return translate_plural(key, count, cli_lang.current(), **values)


reports_app = typer.Typer(no_args_is_help=True, help=_say("actor_activities.cli.help.group"))
YearOption = Annotated[
    int, typer.Option("--year", min=2000, max=2100, help=_say("actor_activities.cli.help.year"))
]
OrgOption = Annotated[str, typer.Option("--org", help=_say("actor_activities.cli.help.org"))]


def _work(org: str) -> AbstractContextManager[tuple[Session, Organisation]]:
    """One transaction on the organisation; a refusal ends the command with its sentence."""
    from workflow.conference.activities import ActivityRefused

    return organisation_work(
        org,
        ActivityRefused,
        lambda refused: _say(f"actor_activities.error.{refused.code}", **refused.params),
    )


@reports_app.command("request", help=_say("actor_activities.cli.help.request"))
def reports_request(year: YearOption, org: OrgOption = "") -> None:
    from workflow.conference.activities import request_reports

    with _work(org) as (session, organisation):
        outcome = request_reports(
            session, organisation_id=organisation.id, year=year, now=runtime.current().clock.now()
        )
    lines = [_say_n("actor_activities.cli.requested", outcome.queued, year=year)]
    for key, count in (
        ("already", outcome.already),
        ("without_consent", outcome.without_consent),
        ("without_email", outcome.without_email),
    ):
        if count:
            lines.append(_say_n(f"actor_activities.cli.{key}", count, year=year))
    typer.echo("\n".join(lines))


@reports_app.command("count", help=_say("actor_activities.cli.help.count"))
def reports_count(
    year: YearOption,
    indicator: Annotated[
        str, typer.Option("--indicator", help=_say("actor_activities.cli.help.indicator"))
    ],
    org: OrgOption = "",
) -> None:
    from workflow.conference.activities import record_actor_count
    from workflow.indicators.mail import format_date

    with _work(org) as (session, organisation):
        row = record_actor_count(
            session,
            organisation_id=organisation.id,
            indicator_code=indicator.strip(),
            year=year,
            actor="cli",
            actor_name="Kommandozeile",
            now=runtime.current().clock.now(),
        )
        line = _say(
            "actor_activities.cli.counted",
            code=indicator.strip(),
            count=int(row.numerator or 0),
            directory=int(row.denominator or 0),
            day=format_date(date(year, 12, 31), cli_lang.current()),
        )
    typer.echo(line)
