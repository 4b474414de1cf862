"""``zielflow conference survey ID --open|--close`` and ``zielflow conference results ID [--json]``.

Thin commands over workflow/conference/survey.py, one transaction each; the ``conference``
group itself lives with the conference commands, which add these two by ``register``. A
refusal is one line on standard error and exit status 1. Texts come from
``api/locales/conference_survey.*.json`` in the language of ``--lang``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from workflow import cli_lang, runtime
from workflow.db import unit_of_work

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workflow.conference.models import Conference


def _t(key: str, **values: object) -> str:
    from api.i18n import translate

    return translate(key, cli_lang.current(), **values)


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(1)


ConferenceArg = Annotated[int, typer.Argument(help=_t("survey_cli.help.conference_id"), min=1)]
OrgOption = Annotated[str, typer.Option("--org", help=_t("survey_cli.help.org"))]


def _conference_of(session: Session, org: str, conference_id: int) -> Conference | None:
    """The conference of the named (or configured) organisation; another's counts as unknown."""
    from workflow.conference.models import Conference
    from workflow.orgs import resolve_organisation

    organisation = resolve_organisation(session, org or runtime.current().settings.organisation)
    conference = session.get(Conference, conference_id)
    if conference is None or conference.organisation_id != organisation.id:
        return None
    return conference


def survey_cmd(
    conference_id: ConferenceArg,
    open_: Annotated[bool, typer.Option("--open", help=_t("survey_cli.help.open"))] = False,
    close: Annotated[bool, typer.Option("--close", help=_t("survey_cli.help.close"))] = False,
    org: OrgOption = "",
) -> None:
    from workflow.conference.survey import SurveyRefused, close_survey, open_survey

    if open_ == close:
        _fail(_t("survey_cli.choose_one"))
    rt = runtime.current()
    try:
        with unit_of_work(rt.sessions) as session:
            conference = _conference_of(session, org, conference_id)
            if conference is None:
                _fail(_t("survey_cli.unknown", id=conference_id))
                return
            if open_:
                open_survey(session, conference, rt.clock.now())
            else:
                close_survey(session, conference, rt.clock.now())
            title, code = conference.title, conference.survey_code
    except SurveyRefused as refused:
        _fail(_t(f"survey.refused.{refused.code}"))
        return
    if open_:
        link = f"{rt.settings.base_url.rstrip('/')}/k/{code}"
        typer.echo(_t("survey_cli.opened", title=title, link=link))
    else:
        typer.echo(_t("survey_cli.closed", title=title))


def results_cmd(
    conference_id: ConferenceArg,
    as_json: Annotated[bool, typer.Option("--json", help=_t("survey_cli.help.json"))] = False,
    org: OrgOption = "",
) -> None:
    from workflow.conference.survey import results, state_of

    rt = runtime.current()
    with rt.sessions() as session, session.begin():
        conference = _conference_of(session, org, conference_id)
        if conference is None:
            _fail(_t("survey_cli.unknown", id=conference_id))
            return
        found = results(session, conference)
        shown: dict[str, Any] = {
            "conference_id": conference.id,
            "title": conference.title,
            "held_on": conference.held_on.isoformat(),
            "state": state_of(conference, rt.clock.now()).value,
            "responses": found.responses,
            "questions": [
                {
                    "id": r.question.id,
                    "kind": r.question.kind,
                    "text": r.question.text,
                    "indicator_id": r.question.indicator_id,
                    "field_id": r.question.field_id,
                    "field": found.field_names.get(r.question.field_id or 0, ""),
                    "scale_labels": list(r.question.scale_labels),
                    "counts": list(r.counts) if r.question.kind == "scale" else None,
                    "mean": r.mean,
                    "texts": r.texts,
                }
                for r in found.questions
            ],
        }
    if as_json:
        typer.echo(json.dumps(shown, ensure_ascii=False, indent=2))
        return
    typer.echo("\n".join(_lines(shown)))


def _lines(shown: dict[str, Any]) -> list[str]:
    from api.i18n import translate_plural
    from workflow.indicators.mail import format_number

    lang = cli_lang.current()
    lines = [
        translate_plural("survey_cli.responses", shown["responses"], lang, title=shown["title"])
    ]
    for q in shown["questions"]:
        if q["kind"] == "scale":
            counts = " / ".join(str(c) for c in q["counts"])
            mean = format_number(q["mean"], "scale", lang) if q["mean"] is not None else None
            after = f"{_t('survey_cli.mean')} {mean}" if mean else _t("survey_cli.no_answers")
            lines.append(f"{q['text']}: {counts} ({after})")
        else:
            lines.append(f"{q['text']} – {q['field']}")
            lines += [f"  - {text}" for text in q["texts"]] or [f"  {_t('survey_cli.no_answers')}"]
    return lines


def register(conference_app: typer.Typer) -> None:
    """Adds ``survey`` and ``results`` to the ``conference`` group."""
    conference_app.command("survey", help=_t("survey_cli.help.survey"))(survey_cmd)
    conference_app.command("results", help=_t("survey_cli.help.results"))(results_cmd)
