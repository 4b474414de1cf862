"""Why a milestone answer is refused: a code and its parameters; the edge picks the sentence."""

from __future__ import annotations

from typing import Any


class MilestoneRefused(ValueError):
    """codes: ``not_open`` (reached or withdrawn meanwhile), ``date_in_past``,
    ``date_too_far`` (params: ``latest``, ISO date), ``not_found``."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params: dict[str, Any] = params
