"""Whether a body's current members meet its composition rules: pure, no database.

A rule reads "at least N current members who represent X". Deputies stand in for a member
and do not count a second time; members whose representation is not stated count for no rule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from workflow.bodies.models import MemberRole


class Seat(Protocol):
    represents: str | None
    role: str


@dataclass(frozen=True)
class Shortfall:
    represents: str
    minimum: int
    current: int


def counts(members: Iterable[Seat]) -> Counter[str]:
    """Current non-deputy members per representation (``members`` are already current)."""
    return Counter(
        m.represents for m in members if m.represents and m.role != MemberRole.DEPUTY.value
    )


def shortfalls(rules: Mapping[str, int], members: Iterable[Seat]) -> list[Shortfall]:
    """Every rule the members fall short of, in the rules' order."""
    have = counts(members)
    return [
        Shortfall(represents, minimum, have[represents])
        for represents, minimum in rules.items()
        if have[represents] < minimum
    ]
