"""Query types for the dashboard's GET filter forms: an empty value means "no filter".

A browser sends every select of a form, ``rank=`` included, when "alle" is chosen; these
types read that as absent. They never widen the allowed range of a value that is given.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BeforeValidator, Field

MAX_ID = 2**31 - 1


def _blank_is_absent(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        return None
    return value


Blank = BeforeValidator(_blank_is_absent)

# The bounds sit on the inner int: on the union they would be checked against None too.
OptionalId = Annotated[Annotated[int, Field(ge=1, le=MAX_ID)] | None, Blank, Query()]
OptionalYear = Annotated[Annotated[int, Field(ge=2000, le=2100)] | None, Blank, Query()]
OptionalRank = Annotated[Annotated[int, Field(ge=1, le=4)] | None, Blank, Query()]
