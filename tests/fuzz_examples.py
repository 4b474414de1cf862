"""How many examples each property test draws: its own size, or ``ZIELFLOW_FUZZ_EXAMPLES``.

The property tests set ``max_examples`` one by one (150 inputs for a form, 8 or 20 per API
operation), and an explicit ``max_examples`` wins over any hypothesis settings profile; so
each size line asks ``examples(today's size)`` instead. Unset, CI runs exactly today's sizes;
``python -m bench.fuzz --examples N`` sets it to run every property test with N.
"""

from __future__ import annotations

import os

ENV = "ZIELFLOW_FUZZ_EXAMPLES"


def examples(default: int) -> int:
    """``default``, unless ``ZIELFLOW_FUZZ_EXAMPLES`` asks for another positive number."""
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{ENV} must be a positive whole number, not {raw!r}")
    return int(raw)
