"""``zielflow org set`` and ``zielflow org show``: an organisation's settings from the shell.

Thin commands over workflow/organisation_settings.py, one transaction each; a refused value
is one German line on standard error and exit status 1.
"""

from __future__ import annotations

from typing import Annotated

import typer

from workflow import runtime
from workflow.db import unit_of_work

org_app = typer.Typer(no_args_is_help=True, help="Einstellungen der Organisation")

OrgOption = Annotated[str, typer.Option("--org", help="Kürzel der Organisation")]


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
    }
    lines = [f"{translate('org.title', lang)} {slug}"]
    lines += [f"  {setting_label(k, lang)}: {shown.get(k, v)}" for k, v in values.items()]
    return lines


@org_app.command("show")
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
    typer.echo("\n".join(describe(values, slug)))


@org_app.command("set")
def org_set(
    name: Annotated[
        str | None, typer.Option("--name", help="Name, z. B. 'Stadt Musterstadt'")
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="city, district oder town")] = None,
    office_name: Annotated[
        str | None, typer.Option("--office-name", help="Name der Stelle (Absendername)")
    ] = None,
    office_address: Annotated[
        str | None, typer.Option("--office-address", help="Postanschrift der Stelle")
    ] = None,
    contact_email: Annotated[
        str | None,
        typer.Option("--contact-email", help="Adresse für Antworten; leer: keine"),
    ] = None,
    state: Annotated[str | None, typer.Option("--state", help="Land, z. B. NW")] = None,
    timezone: Annotated[
        str | None, typer.Option("--timezone", help="Zeitzone, z. B. Europe/Berlin")
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
    }
    if all(v is None for v in changes.values()):
        _fail("Nichts zu ändern: bitte mindestens eine Option angeben, z. B. --office-name.")
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
        _fail(" ".join(setting_problem(p, "de") for p in exc.problems))
        return
    typer.echo("\n".join(describe(values, slug)))
