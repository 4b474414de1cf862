"""The refusal for a row that a concurrent writer inserted first.

The services check uniqueness before they write, but two transactions can both pass the
check; the database's unique index then refuses the second at flush. Inside a savepoint
that refusal becomes the same coded error a sequential second attempt gets, and the
caller's transaction stays usable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.bodies.errors import BodyError


@contextmanager
def taken_means(session: Session, code: str, **params: str) -> Iterator[None]:
    try:
        with session.begin_nested():
            yield
    except IntegrityError:
        raise BodyError(code, **params) from None
