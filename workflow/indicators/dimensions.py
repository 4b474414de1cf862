"""The breakdowns an organisation keeps (Staatsangehörigkeit, Geschlecht, …) and their
categories; callers own the transaction.

A standard list is created on first use, so an organisation never starts empty. Codes are
ASCII and never change (a value's cell names them); labels are German and may be renamed.
A category that a stored value uses cannot be removed: the value would lose its meaning.
Problems are raised as codes of ``api/locales/dimensions.*.json`` (``dimensions.error.*``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.indicators.breakdown import uses_category
from workflow.indicators.models import IndicatorDimension, IndicatorValue

CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
CATEGORY_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MAX_LABEL = 200

STANDARD: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "staatsangehoerigkeit",
        "Staatsangehörigkeit",
        (("deutsch", "deutsch"), ("nichtdeutsch", "nichtdeutsch")),
    ),
    ("migrationshintergrund", "Migrationshintergrund", (("ja", "ja"), ("nein", "nein"))),
    (
        "geschlecht",
        "Geschlecht",
        (("weiblich", "weiblich"), ("maennlich", "männlich"), ("divers", "divers")),
    ),
    (
        "altersgruppe",
        "Altersgruppe",
        (
            ("unter_18", "unter 18"),
            ("18_bis_unter_25", "18 bis unter 25"),
            ("25_bis_unter_65", "25 bis unter 65"),
            ("65_und_aelter", "65 und älter"),
        ),
    ),
)


class DimensionRefused(ValueError):
    """A change the list does not allow: ``code`` and ``params`` word it at the edge."""

    def __init__(self, key: str, /, **params: Any) -> None:
        self.code = key
        self.params: dict[str, Any] = params
        super().__init__(key)


def dimensions_of(session: Session, organisation_id: int) -> list[IndicatorDimension]:
    return list(
        session.scalars(
            select(IndicatorDimension)
            .where(IndicatorDimension.organisation_id == organisation_id)
            .order_by(IndicatorDimension.position, IndicatorDimension.id)
        )
    )


def ensure_standard_dimensions(
    session: Session, organisation_id: int, now: datetime
) -> list[IndicatorDimension]:
    """The organisation's list, created from the standard list when it has none yet."""
    existing = dimensions_of(session, organisation_id)
    if existing:
        return existing
    for position, (code, label, categories) in enumerate(STANDARD):
        session.add(
            IndicatorDimension(
                organisation_id=organisation_id,
                code=code,
                label=label,
                categories=[{"code": c, "label": lbl} for c, lbl in categories],
                position=position,
                created_at=now,
            )
        )
    session.flush()
    return dimensions_of(session, organisation_id)


def structure(dimensions: Sequence[IndicatorDimension]) -> dict[str, list[str]]:
    """Category codes by dimension code, in their order."""
    return {d.code: [c["code"] for c in d.categories] for d in dimensions}


def labels(dimensions: Sequence[IndicatorDimension]) -> dict[str, tuple[str, dict[str, str]]]:
    """What ``breakdown.cell_label`` reads: a dimension's label and its categories' labels."""
    return {d.code: (d.label, {c["code"]: c["label"] for c in d.categories}) for d in dimensions}


def indicator_dimensions(
    dimensions: Sequence[IndicatorDimension], codes: Sequence[str]
) -> list[tuple[str, list[str]]]:
    """An indicator's dimensions with their categories, in the indicator's order; codes the
    list no longer knows are left out (nothing can be asked for them)."""
    known = structure(dimensions)
    return [(code, known[code]) for code in codes if code in known]


def _label(label: str) -> str:
    label = " ".join(label.split())
    if not label:
        raise DimensionRefused("dimensions.error.label_required")
    if len(label) > MAX_LABEL:
        raise DimensionRefused("dimensions.error.label_too_long", limit=MAX_LABEL)
    return label


def _of(session: Session, organisation_id: int, code: str) -> IndicatorDimension:
    found = session.scalars(
        select(IndicatorDimension).where(
            IndicatorDimension.organisation_id == organisation_id,
            IndicatorDimension.code == code,
        )
    ).first()
    if found is None:
        raise DimensionRefused("dimensions.error.unknown", code=code)
    return found


def add_dimension(
    session: Session, organisation_id: int, *, code: str, label: str, now: datetime
) -> IndicatorDimension:
    code = code.strip()
    if not CODE.match(code):
        raise DimensionRefused("dimensions.error.code_invalid", code=code)
    clean = _label(label)
    existing = dimensions_of(session, organisation_id)
    if any(d.code == code for d in existing):
        raise DimensionRefused("dimensions.error.code_taken", code=code)
    dimension = IndicatorDimension(
        organisation_id=organisation_id,
        code=code,
        label=clean,
        categories=[],
        position=max((d.position for d in existing), default=-1) + 1,
        created_at=now,
    )
    session.add(dimension)
    session.flush()
    return dimension


def rename_dimension(session: Session, organisation_id: int, code: str, label: str) -> None:
    _of(session, organisation_id, code).label = _label(label)
    session.flush()


def add_category(
    session: Session, organisation_id: int, dimension: str, *, code: str, label: str
) -> None:
    found = _of(session, organisation_id, dimension)
    code = code.strip()
    if not CATEGORY_CODE.match(code):
        raise DimensionRefused("dimensions.error.code_invalid", code=code)
    if any(c["code"] == code for c in found.categories):
        raise DimensionRefused("dimensions.error.code_taken", code=code)
    # A new list, so that the JSON column sees the change.
    found.categories = [*found.categories, {"code": code, "label": _label(label)}]
    session.flush()


def rename_category(
    session: Session, organisation_id: int, dimension: str, code: str, label: str
) -> None:
    found = _of(session, organisation_id, dimension)
    if not any(c["code"] == code for c in found.categories):
        raise DimensionRefused("dimensions.error.category_unknown", code=code)
    clean = _label(label)
    found.categories = [
        {"code": c["code"], "label": clean if c["code"] == code else c["label"]}
        for c in found.categories
    ]
    session.flush()


def values_using(session: Session, organisation_id: int, dimension: str, category: str) -> int:
    """How many stored values lie in ``category`` of ``dimension``."""
    rows = session.execute(
        select(IndicatorValue.cell, func.count())
        .where(IndicatorValue.organisation_id == organisation_id, IndicatorValue.cell != "")
        .group_by(IndicatorValue.cell)
    )
    return sum(int(n) for cell, n in rows if uses_category(cell, dimension, category))


def remove_category(session: Session, organisation_id: int, dimension: str, code: str) -> None:
    """Refused while a value uses the category, naming how many do."""
    found = _of(session, organisation_id, dimension)
    if not any(c["code"] == code for c in found.categories):
        raise DimensionRefused("dimensions.error.category_unknown", code=code)
    used = values_using(session, organisation_id, dimension, code)
    if used:
        raise DimensionRefused("dimensions.error.category_in_use", count=used, code=code)
    found.categories = [c for c in found.categories if c["code"] != code]
    session.flush()
