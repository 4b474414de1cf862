"""``zielflow person export|erase``: answer a request for information or erasure from the shell.

Thin commands over ``export`` and ``erase``, one transaction each. Output follows ``--lang``;
a refusal names the open items on stderr and exits with status 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from workflow import cli_lang, runtime
from workflow.cli_text import say, say_n
from workflow.db import unit_of_work

if TYPE_CHECKING:
    from workflow.privacy.selection import OpenItem

person_app = typer.Typer(no_args_is_help=True, help=say("help.group.person"))

EmailArg = Annotated[str, typer.Argument(help=say("help.arg.email"))]
OrgOption = Annotated[str, typer.Option("--org", help=say("help.opt.org"))]
OutputOption = Annotated[Path | None, typer.Option("--output", help=say("help.opt.output"))]
ForceOption = Annotated[bool, typer.Option("--force", help=say("help.opt.person_force"))]

# Order of the refusal: what the person is responsible for first, then where they sit.
_KINDS = ("measure", "assignment", "status_check", "data_request", "form", "membership")


@person_app.command("export", help=say("help.person_export"))
def person_export(email: EmailArg, org: OrgOption = "", output: OutputOption = None) -> None:
    from workflow.orgs import resolve_organisation
    from workflow.privacy.export import export_person

    rt = runtime.current()
    with unit_of_work(rt.sessions) as session:
        organisation = resolve_organisation(session, org or rt.settings.organisation)
        data = export_person(session, organisation, email)
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    rows = sum(len(found) for found in data["tables"].values())
    typer.echo(say("person.exported", rows=say_n("person.rows", rows), path=output))


@person_app.command("erase", help=say("help.person_erase"))
def person_erase(email: EmailArg, org: OrgOption = "", force: ForceOption = False) -> None:
    from workflow.orgs import resolve_organisation
    from workflow.privacy.erase import PersonHasOpenItems, erase_person

    rt = runtime.current()
    try:
        with unit_of_work(rt.sessions) as session:
            organisation = resolve_organisation(session, org or rt.settings.organisation)
            done = erase_person(session, organisation, email, force=force, now=rt.clock.now())
    except PersonHasOpenItems as refused:
        typer.echo(say("person.open_items", email=email, items=_items(refused.items)), err=True)
        raise typer.Exit(1) from None
    if done.pseudonym is None:
        typer.echo(say("person.not_found", email=email))
        return
    typer.echo(
        say(
            "person.erased",
            email=email,
            pseudonym=done.pseudonym,
            rows=say_n("person.rows", done.rows),
        )
    )


def _items(items: list[OpenItem]) -> str:
    """The open items by kind, e.g. 2 zugeordnete Maßnahmen „M0001 …“, „M0003 …“; …"""
    parts = []
    for kind in _KINDS:
        labels = [i.label for i in items if i.kind == kind]
        if labels:
            listed = ", ".join(f"„{_label(i)}“" for i in items if i.kind == kind)
            parts.append(say_n(f"person.open.{kind}", len(labels), items=listed))
    return "; ".join(parts)


def _label(item: OpenItem) -> str:
    if item.label or item.due is None:
        return item.label
    from api.formats import day

    return say("person.open.due", date=day(item.due, cli_lang.current()))
