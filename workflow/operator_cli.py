"""``zielflow operator grant|revoke EMAIL``: who manages the installation's organisations.

Operator rights (``User.operator``) sit above every organisation's admins: the page
``/betrieb/organisationen`` and ``/api/v1/organisations``. Only this command line hands them
out, so a web account can never make itself an operator. One transaction each.
"""

from __future__ import annotations

from typing import Annotated

import typer

from workflow import runtime
from workflow.cli_text import say
from workflow.db import unit_of_work

operator_app = typer.Typer(no_args_is_help=True, help=say("help.group.operator"))

EmailArg = Annotated[str, typer.Argument(help=say("help.arg.email"))]


def _run(email: str, operator: bool, done: str) -> None:
    from workflow.organisations.manage import set_operator

    rt = runtime.current()
    with unit_of_work(rt.sessions) as session:
        found = set_operator(
            session, email=email, operator=operator, actor="cli", now=rt.clock.now()
        )
    if found is None:
        typer.echo(say("operator.unknown_email", email=email.strip()), err=True)
        raise typer.Exit(1)
    typer.echo(say(done, email=email.strip().lower()))


@operator_app.command("grant", help=say("help.operator_grant"))
def grant(email: EmailArg) -> None:
    _run(email, True, "operator.granted")


@operator_app.command("revoke", help=say("help.operator_revoke"))
def revoke(email: EmailArg) -> None:
    _run(email, False, "operator.revoked")
