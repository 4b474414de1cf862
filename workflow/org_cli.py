"""``zielflow org add|list|set|show``: the organisations of an installation and their settings.

Thin commands over workflow/organisation_settings.py, one transaction each; a refused value
is one line (in the language of ``--lang``) on standard error and exit status 1.
"""

from __future__ import annotations

from typing import Annotated

import typer

from workflow import cli_lang, runtime
from workflow.cli_text import say
from workflow.db import unit_of_work

org_app = typer.Typer(no_args_is_help=True, help=say("help.group.org"))

OrgOption = Annotated[str, typer.Option("--org", help=say("help.opt.org"))]


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(1)


def describe(values: dict[str, str], slug: str, lang: str = "de") -> list[str]:
    """The settings as lines for a person: label, value, and the code where one was typed."""
    from api.i18n import translate
    from api.setting_errors import setting_label

    none = translate("org.none", lang)
    shown = {
        "kind": f"{translate('org.kind.' + values['kind'], lang)} ({values['kind']})",
        "state": f"{translate('org.state.' + values['state'], lang)} ({values['state']})",
        "office_address": ", ".join(values["office_address"].splitlines()) or none,
        "contact_email": values["contact_email"] or none,
        "unit_term": f"{translate('org.unit_term.' + values['unit_term'], lang)} "
        f"({values['unit_term']})",
        "council_term": _council_shown(values, lang),
        "shares_with_district": translate(f"org.choice.{values['shares_with_district']}", lang),
    }
    lines = [f"{translate('org.title', lang)} {slug}"]
    lines += [f"  {setting_label(k, lang)}: {shown.get(k, v)}" for k, v in values.items()]
    return lines


def _council_shown(values: dict[str, str], lang: str) -> str:
    from api.i18n import translate
    from workflow.terms import council_by_kind

    chosen = values["council_term"]
    if chosen:
        return f"{translate('org.council_term.' + chosen, lang)} ({chosen})"
    # "" lets the kind decide; name the council that follows from it.
    by_kind = council_by_kind(values["kind"])
    return (
        f"{translate('org.council_term.by_kind', lang)} "
        f"({translate('org.council_term.' + by_kind, lang)})"
    )


@org_app.command("show", help=say("help.org_show"))
def org_show(org: OrgOption = "") -> None:
    """Show the organisation's settings."""
    from workflow.organisation_settings import current
    from workflow.orgs import OrganisationAmbiguous, resolve_organisation

    rt = runtime.current()
    try:
        with rt.sessions() as session, session.begin():
            organisation = resolve_organisation(session, org or rt.settings.organisation)
            values, slug = current(organisation), organisation.slug
    except OrganisationAmbiguous as exc:
        _fail(str(exc))
        return
    typer.echo("\n".join(describe(values, slug, cli_lang.current())))


@org_app.command("set", help=say("help.org_set"))
def org_set(
    name: Annotated[str | None, typer.Option("--name", help=say("help.opt.org_name"))] = None,
    kind: Annotated[str | None, typer.Option("--kind", help=say("help.opt.org_kind"))] = None,
    office_name: Annotated[
        str | None, typer.Option("--office-name", help=say("help.opt.office_name"))
    ] = None,
    office_address: Annotated[
        str | None, typer.Option("--office-address", help=say("help.opt.office_address"))
    ] = None,
    contact_email: Annotated[
        str | None, typer.Option("--contact-email", help=say("help.opt.contact_email"))
    ] = None,
    state: Annotated[str | None, typer.Option("--state", help=say("help.opt.state"))] = None,
    timezone: Annotated[
        str | None, typer.Option("--timezone", help=say("help.opt.timezone"))
    ] = None,
    unit_term: Annotated[
        str | None, typer.Option("--unit-term", help=say("help.opt.unit_term"))
    ] = None,
    council_term: Annotated[
        str | None, typer.Option("--council-term", help=say("help.opt.council_term"))
    ] = None,
    shares_with_district: Annotated[
        str | None,
        typer.Option("--shares-with-district", help=say("help.opt.shares_with_district")),
    ] = None,
    org: OrgOption = "",
) -> None:
    """Change the organisation's settings (created if there is none yet) and show them."""
    from api.setting_errors import setting_problem
    from workflow.organisation_settings import SettingsInvalid, current, update_settings
    from workflow.orgs import OrganisationAmbiguous, resolve_organisation

    changes = {
        "name": name,
        "kind": kind,
        "office_name": office_name,
        "office_address": office_address,
        "contact_email": contact_email,
        "state": state,
        "timezone": timezone,
        "unit_term": unit_term,
        "council_term": council_term,
        "shares_with_district": shares_with_district,
    }
    if all(v is None for v in changes.values()):
        _fail(say("org.nothing_to_change"))
    rt = runtime.current()
    try:
        with unit_of_work(rt.sessions) as session:
            organisation = resolve_organisation(
                session,
                org or rt.settings.organisation,
                create=True,
                state=rt.settings.state,
                timezone=rt.settings.timezone,
            )
            update_settings(session=session, organisation_id=organisation.id, changes=changes)
            values, slug = current(organisation), organisation.slug
    except OrganisationAmbiguous as exc:
        _fail(str(exc))
        return
    except SettingsInvalid as exc:
        _fail(" ".join(setting_problem(p, cli_lang.current()) for p in exc.problems))
        return
    typer.echo("\n".join(describe(values, slug, cli_lang.current())))


@org_app.command("add", help=say("help.org_add"))
def org_add(
    slug: Annotated[str, typer.Argument(help=say("help.arg.org_slug"))],
    name: Annotated[str, typer.Option("--name", help=say("help.opt.org_name"))],
    kind: Annotated[str, typer.Option("--kind", help=say("help.opt.org_kind"))],
    parent: Annotated[str, typer.Option("--parent", help=say("help.opt.org_parent"))] = "",
) -> None:
    """Add an organisation: a city, a district, or a town of a district."""
    from api.i18n import translate
    from workflow.org_registry import OrganisationRefused, add_organisation

    rt = runtime.current()
    try:
        with unit_of_work(rt.sessions) as session:
            added = add_organisation(
                session, slug=slug, name=name, kind=kind, parent_slug=parent,
                state=rt.settings.state, timezone=rt.settings.timezone,
            )  # fmt: skip
            shown = (added.slug, added.name, added.kind)
    except OrganisationRefused as exc:
        _fail(say(f"org.add.{exc.code}", **exc.params))
        return
    kind_label = translate("org.kind." + shown[2], cli_lang.current())
    typer.echo(say("org.added", slug=shown[0], name=shown[1], kind=kind_label))


@org_app.command("list", help=say("help.org_list"))
def org_list() -> None:
    """Every organisation of the installation, each district followed by its towns."""
    from api.i18n import translate
    from workflow.org_registry import list_organisations

    rt = runtime.current()
    with rt.sessions() as session, session.begin():
        listed = list_organisations(session)
    if not listed:
        typer.echo(say("org.none"))
        return
    lang = cli_lang.current()
    for o in listed:
        indent = "  " if o.parent_slug else ""
        typer.echo(f"{indent}{o.slug}  {o.name} ({translate('org.kind.' + o.kind, lang)})")


SlugArg = Annotated[str, typer.Argument(help=say("help.arg.org_slug"))]


def _refused(exc: Exception) -> None:
    """A refusal of workflow/organisations/manage.py, worded from the errors catalogue."""
    from workflow import messages

    code, params = getattr(exc, "code", ""), getattr(exc, "params", {})
    _fail(messages.message(f"organisation.{code}", cli_lang.current(), **params))


@org_app.command("rename", help=say("help.org_rename"))
def org_rename(
    slug: SlugArg,
    name: Annotated[str, typer.Option("--name", help=say("help.opt.org_name"))],
) -> None:
    """Give an organisation a new name; its short name stays."""
    from workflow.organisations.manage import OrganisationRefused, rename_organisation

    rt = runtime.current()
    try:
        with unit_of_work(rt.sessions) as session:
            org = rename_organisation(
                session, slug=slug, name=name, actor="cli", now=rt.clock.now()
            )
            shown = (org.slug, org.name)
    except OrganisationRefused as exc:
        _refused(exc)
        return
    typer.echo(say("org.renamed", slug=shown[0], name=shown[1]))


@org_app.command("move", help=say("help.org_move"))
def org_move(
    slug: SlugArg,
    parent: Annotated[str, typer.Option("--parent", help=say("help.opt.org_parent"))] = "",
    no_parent: Annotated[bool, typer.Option("--no-parent", help=say("help.opt.no_parent"))] = False,
) -> None:
    """Assign a town to a district, or take a parent away (--no-parent)."""
    from workflow.organisations.manage import OrganisationRefused, move_organisation

    if bool(parent.strip()) == no_parent:
        _fail(say("org.move.parent_or_none"))
    rt = runtime.current()
    try:
        with unit_of_work(rt.sessions) as session:
            org = move_organisation(
                session, slug=slug, parent_slug=parent, actor="cli", now=rt.clock.now()
            )
            shown = org.slug
    except OrganisationRefused as exc:
        _refused(exc)
        return
    if no_parent:
        typer.echo(say("org.moved_off", slug=shown))
    else:
        typer.echo(say("org.moved", slug=shown, parent=parent.strip()))


@org_app.command("archive", help=say("help.org_archive"))
def org_archive(slug: SlugArg) -> None:
    """Archive an organisation: its data stays, nothing is sent for it any more."""
    from workflow.organisations.manage import OrganisationRefused, archive_organisation

    rt = runtime.current()
    try:
        with unit_of_work(rt.sessions) as session:
            shown = archive_organisation(session, slug=slug, actor="cli", now=rt.clock.now()).slug
    except OrganisationRefused as exc:
        _refused(exc)
        return
    typer.echo(say("org.archived", slug=shown))


@org_app.command("unarchive", help=say("help.org_unarchive"))
def org_unarchive(slug: SlugArg) -> None:
    """Reactivate an archived organisation."""
    from workflow.organisations.manage import OrganisationRefused, unarchive_organisation

    rt = runtime.current()
    try:
        with unit_of_work(rt.sessions) as session:
            shown = unarchive_organisation(session, slug=slug, actor="cli", now=rt.clock.now()).slug
    except OrganisationRefused as exc:
        _refused(exc)
        return
    typer.echo(say("org.unarchived", slug=shown))
