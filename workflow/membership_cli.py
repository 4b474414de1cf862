"""``zielflow user join|leave|places``: an account working for further organisations.

One transaction each; a refusal is one line on standard error and exit status 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from workflow import cli_errors, runtime
from workflow.cli_text import say
from workflow.db import unit_of_work

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workflow.accounts import User
    from workflow.catalogue.models import Organisation

EmailArg = Annotated[str, typer.Argument(help=say("help.arg.email"))]
OrgRequired = Annotated[str, typer.Option("--org", help=say("help.opt.membership_org"))]
RoleOption = Annotated[str, typer.Option("--role", help=say("help.opt.role"))]


def user_join(email: EmailArg, org: OrgRequired, role: RoleOption) -> None:
    """The account also works for ``--org`` with ``--role`` there (or changes that role)."""
    from workflow.memberships import MembershipRefused, join

    rt = runtime.current()
    try:
        with unit_of_work(rt.sessions) as session:
            user, organisation = _user_and_organisation(session, email, org)
            join(session, user=user, organisation=organisation, role=role, now=rt.clock.now())
    except MembershipRefused as exc:
        _fail(cli_errors.sentence(exc))
    typer.echo(say("membership.joined", email=email.strip().lower(), org=org, role=role))


def user_leave(email: EmailArg, org: OrgRequired) -> None:
    """The account no longer works for ``--org`` (its own organisation stays)."""
    from workflow.memberships import MembershipRefused, leave

    rt = runtime.current()
    try:
        with unit_of_work(rt.sessions) as session:
            user, organisation = _user_and_organisation(session, email, org)
            left = leave(session, user=user, organisation=organisation)
    except MembershipRefused as exc:
        _fail(cli_errors.sentence(exc))
    key = "membership.left" if left else "membership.not_member"
    typer.echo(say(key, email=email.strip().lower(), org=org))


def user_places(email: EmailArg) -> None:
    """The organisations the account works for, with the role in each."""
    from workflow.accounts import user_by_email
    from workflow.memberships import MembershipRefused, places_of

    rt = runtime.current()
    try:
        with rt.sessions() as session, session.begin():
            user = user_by_email(session, email)
            if user is None:
                raise MembershipRefused("unknown_user")
            lines = [
                f"{p.slug}\t{p.role}\t{p.name}" + ("\t" + say("membership.home") if p.home else "")
                for p in places_of(session, user)
            ]
    except MembershipRefused as exc:
        _fail(cli_errors.sentence(exc))
    typer.echo("\n".join(lines))


def _fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(1)


def _user_and_organisation(session: Session, email: str, slug: str) -> tuple[User, Organisation]:
    from sqlalchemy import select

    from workflow.accounts import user_by_email
    from workflow.catalogue.models import Organisation
    from workflow.memberships import MembershipRefused

    user = user_by_email(session, email)
    if user is None:
        raise MembershipRefused("unknown_user")
    organisation = session.scalars(
        select(Organisation).where(Organisation.slug == slug.strip())
    ).first()
    if organisation is None:
        raise MembershipRefused("unknown_organisation")
    return user, organisation
