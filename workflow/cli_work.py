"""One transaction on one organisation for a ``zielflow`` command, shared by the CLIs.

A command opens it with the refusal its domain raises and how that refusal is worded; a
refusal then ends the command with one line on stderr and exit status 1, and nothing is
saved. The models load on first use, so ``--help`` stays quick.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

import typer

from workflow import runtime
from workflow.db import unit_of_work

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workflow.catalogue.models import Organisation

Refusal = TypeVar("Refusal", bound=Exception)


@contextmanager
def organisation_work(
    org: str, refusal: type[Refusal], sentence: Callable[[Refusal], str]
) -> Iterator[tuple[Session, Organisation]]:
    """The session and the named (or configured) organisation; ``refusal`` ends the command
    with ``sentence(refusal)``."""
    from workflow.orgs import resolve_organisation

    rt = runtime.current()
    try:
        with unit_of_work(rt.sessions) as session:
            yield session, resolve_organisation(session, org or rt.settings.organisation)
    except refusal as refused:
        typer.echo(sentence(refused), err=True)
        raise typer.Exit(1) from None
