"""Cells of an indicator's breakdowns and values computed from base figures; pure.

A value belongs to one cell: "" is the total, otherwise the chosen category of each of the
indicator's dimensions, written ``dimension=category`` and joined by ";" in the order of the
dimension codes, e.g. ``geschlecht=w;staatsangehoerigkeit=nichtdeutsch``. The key is what
the database's unique constraint sees, so it must be canonical.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import product

from workflow.indicators.models import Computation, Unit

TOTAL = ""


def cell_key(choice: Mapping[str, str]) -> str:
    """The canonical key of one cell; an empty choice is the total."""
    return ";".join(f"{dim}={choice[dim]}" for dim in sorted(choice))


def parse_cell(key: str) -> dict[str, str]:
    """The choice a key stands for; raises ValueError on a malformed key."""
    if key == TOTAL:
        return {}
    out: dict[str, str] = {}
    for part in key.split(";"):
        dim, sep, cat = part.partition("=")
        if not sep or not dim or not cat or dim in out:
            raise ValueError(key)
        out[dim] = cat
    if cell_key(out) != key:
        raise ValueError(key)
    return out


def cells_of(dimensions: Sequence[tuple[str, Sequence[str]]]) -> list[str]:
    """Every cell of the product of ``(dimension code, category codes)``, in the given order
    of dimensions and categories; the total is not among them."""
    if not dimensions:
        return []
    codes = [code for code, _ in dimensions]
    return [
        cell_key(dict(zip(codes, combination, strict=True)))
        for combination in product(*(categories for _, categories in dimensions))
    ]


def cell_label(key: str, labels: Mapping[str, tuple[str, Mapping[str, str]]]) -> str:
    """A reader's label of a cell, e.g. "Geschlecht: weiblich, Staatsangehörigkeit:
    nichtdeutsch"; ``labels`` maps a dimension code to its label and its categories' labels.
    Unknown codes are shown as they are, so a renamed category never hides a value."""
    parts = []
    for dim, cat in parse_cell(key).items():
        dim_label, categories = labels.get(dim, (dim, {}))
        parts.append(f"{dim_label}: {categories.get(cat, cat)}")
    return ", ".join(parts)


def computed_value(
    computation: str,
    unit: str,
    *,
    numerator: float | None,
    denominator: float | None,
    population_share: float | None,
) -> float | None:
    """The value the base figures give, or None when they do not give one (a figure is
    missing or a denominator is zero): the caller then asks for the missing figure."""
    if computation == Computation.TYPED or numerator is None or not denominator:
        return None
    share = numerator / denominator
    if computation == Computation.RATIO:
        return share * 100 if unit == Unit.PERCENT else share
    if computation == Computation.REPRESENTATION_INDEX:
        if not population_share:
            return None
        return share * 100 / population_share * 100
    raise ValueError(computation)


def ordered(keys: Iterable[str], order: Sequence[str]) -> list[str]:
    """Cell keys in the indicator's order (total first), unknown keys last, sorted."""
    rank = {key: i for i, key in enumerate([TOTAL, *order])}
    return sorted(keys, key=lambda k: (rank.get(k, len(rank)), k))


def cell_from_text(text: str) -> str:
    """The canonical key of a cell as a person writes it, e.g. ``staatsangehoerigkeit =
    nichtdeutsch, geschlecht=weiblich`` (parts joined by "," or ";", any order, spaces
    ignored); raises ValueError when a part is not ``dimension=category``."""
    choice: dict[str, str] = {}
    for part in text.replace(";", ",").split(","):
        dim, sep, cat = (p.strip() for p in part.partition("="))
        if not sep or not dim or not cat or dim in choice or not _plain_code(dim + cat):
            raise ValueError(text)
        choice[dim] = cat
    return cell_key(choice)


def _plain_code(text: str) -> bool:
    # A code must never hold the key's own separators, nor spaces a reader cannot see.
    return all(ch.isascii() and (ch.isalnum() or ch in "_-") for ch in text)


def is_cell_of(key: str, dimensions: Sequence[tuple[str, Sequence[str]]]) -> bool:
    """Whether ``key`` is the total or one cell of the product of ``dimensions``."""
    return key == TOTAL or key in cells_of(dimensions)


def uses_category(key: str, dimension: str, category: str) -> bool:
    """Whether the cell ``key`` lies in ``category`` of ``dimension``; a malformed key never."""
    try:
        return parse_cell(key).get(dimension) == category
    except ValueError:
        return False


def ordered_rank(key: str, order: Sequence[str]) -> int:
    """A cell's place in the indicator's order: the total first, unknown keys last."""
    if key == TOTAL:
        return 0
    return order.index(key) + 1 if key in order else len(order) + 1
