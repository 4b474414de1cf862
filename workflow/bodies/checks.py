"""Checks shared by bodies and memberships: codes, texts, addresses; pure, no database.

Each refusal is a ``BodyError`` with a code and the offending value.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Final

from workflow.bodies.errors import BodyError
from workflow.bodies.models import BodyKind, BodyScope, DigestCadence, MemberRole, Represents
from workflow.salutation_entry import salutation_code

LANGUAGES = ("de", "en")
EMAIL = re.compile(r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")


class _Unset(Enum):
    UNSET = 0


Unset = _Unset
UNSET: Final = _Unset.UNSET  # "not given", where None means "clear it"
Choices = (
    type[BodyKind] | type[BodyScope] | type[DigestCadence] | type[Represents] | type[MemberRole]
)


def choice(value: str, allowed: Choices, code: str) -> str:
    """``value`` if it is one of ``allowed``'s codes; else ``code`` naming every allowed one."""
    if value not in {m.value for m in allowed}:
        raise BodyError(code, value=value, allowed=", ".join(m.value for m in allowed))
    return value


def salutation_of(value: str) -> str:
    """The stored code of a salutation as entered ("Frau" → "frau", "" → none)."""
    code = salutation_code(value)
    if code is None:
        raise BodyError("unknown_salutation", value=value.strip()[:40])
    return code


def text(value: str, code: str, limit: int = 200, *, required: bool = True) -> str:
    """``value`` stripped, if present (when ``required``), short enough and without NUL."""
    value = value.strip()
    if (required and not value) or len(value) > limit or "\x00" in value:
        raise BodyError(code, value=value[:limit])
    return value
