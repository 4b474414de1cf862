"""How many examples each property test draws: its own size, or ``ZIELFLOW_FUZZ_EXAMPLES``.

The property tests set ``max_examples`` one by one (150 inputs for a form, 20 per API
operation), and an explicit ``max_examples`` wins over any hypothesis settings profile; so
each size line asks ``examples(today's size)`` instead. Unset, CI runs exactly today's sizes;
``python -m bench.fuzz --examples N`` sets it to run every property test with N.
``ZIELFLOW_FUZZ_PART`` (``--part k/n``) splits the run over the API's operations.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TypeVar

ENV = "ZIELFLOW_FUZZ_EXAMPLES"
T = TypeVar("T")


def examples(default: int) -> int:
    """``default``, unless ``ZIELFLOW_FUZZ_EXAMPLES`` asks for another positive number."""
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{ENV} must be a positive whole number, not {raw!r}")
    return int(raw)


PART_ENV = "ZIELFLOW_FUZZ_PART"


def part_of(items: Sequence[T]) -> tuple[str, list[T]]:
    """Every n-th item from the k-th on when ``ZIELFLOW_FUZZ_PART=k/n`` is set, else all of
    them; with a label for the run's counts (" (part k of n)", or "")."""
    raw = os.environ.get(PART_ENV, "").strip()
    if not raw:
        return "", list(items)
    k, _, n = raw.partition("/")
    if not (k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise ValueError(f"{PART_ENV} must be k/n with 1 <= k <= n, not {raw!r}")
    return f" (part {k} of {n})", list(items[int(k) - 1 :: int(n)])


# How long one request of the schemathesis runs may take before it counts as failed. The
# client's default of ten seconds failed a run whose request answered at once when repeated:
# the process, at the lowest priority on a crowded machine, had not been given the processor.
# A request that hangs still fails, and each run reports its slowest request.
REQUEST_TIMEOUT_SECONDS = 300
