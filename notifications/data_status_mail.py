"""How a queued Datenstand email (notifications/data_status.py) reads: its template context.

Kept apart from the queueing so the renderer can import it without importing the digest
periods, which import the renderer. Pure.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from workflow.indicators.mail import format_date
from workflow.reports.monitoring_html import number_text

KIND = "data_status"
PAGE = "/kennzahlen/pruefung"


def _day(iso: str | None, lang: str) -> str:
    return format_date(date.fromisoformat(iso[:10]) if iso else None, lang)


def _number(value: float | None, lang: str) -> str:
    """29,7 in German, 29.7 in English; as many decimals as the value has, at most two."""
    # Two places always write a separator, so stripping zeros never reaches the integer part.
    return number_text(value, 2, lang).rstrip("0").rstrip(",.")


def data_status_context(ctx: dict[str, Any], lang: str, base_url: str) -> dict[str, Any]:
    """The template's view of a queued Datenstand email in the recipient's language."""
    lang = lang if lang in ("de", "en") else "de"
    status = ctx.get("status", {})

    def values(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            r | {"survey_date": _day(r["survey_date"], lang), "value": _number(r["value"], lang)}
            for r in rows
        ]

    labels = ctx.get("period_labels") or {}
    return {
        "body_name": ctx.get("body_name", ""),
        "period_label": labels.get(lang) or labels.get("de", ""),
        "page_url": base_url.rstrip("/") + PAGE,
        "missing": [r | {"due_on": _day(r["due_on"], lang)} for r in status.get("missing", [])],
        "flagged": values(status.get("flagged", [])),
        "unchecked": values(status.get("unchecked", [])),
        "missing_count": int(status.get("missing_count", 0)),
        "flagged_count": int(status.get("flagged_count", 0)),
        "unchecked_count": int(status.get("unchecked_count", 0)),
    }
