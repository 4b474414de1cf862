"""The reports councillors and the steering group read carry no jargon and no bracket plurals.

Two views: the report templates' own words (text between the tags and the strings inside
their expressions, so conditional sections count even when no data reaches them), and the
rendered documents of a freshly opened cycle.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from tests.dashboard_seed import seed
from tests.wording import offences
from workflow.db import unit_of_work
from workflow.reports.build import build_report
from workflow.reports.html import KINDS
from workflow.runtime import Runtime

TEMPLATES = Path(__file__).parent.parent / "workflow" / "reports" / "templates"
_STATEMENT = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.S)
_EXPRESSION = re.compile(r"\{\{.*?\}\}", re.S)
_STRING = re.compile(r'"([^"\n]*)"|\'([^\'\n]*)\'')
_TAG = re.compile(r"<[^>]*>")


def _words_of_template(source: str) -> str:
    """Text between the tags, plus the string literals of every Jinja expression and statement."""
    strings = [
        a or b
        for block in _STATEMENT.findall(source) + _EXPRESSION.findall(source)
        for a, b in _STRING.findall(block)
    ]
    text = _TAG.sub(" ", _EXPRESSION.sub(" ", _STATEMENT.sub(" ", source)))
    return "\n".join([text, *strings])


@pytest.mark.parametrize("name", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_report_templates_use_plain_german(name: str) -> None:
    assert offences(_words_of_template((TEMPLATES / name).read_text(encoding="utf-8"))) == []


def test_the_template_check_sees_words_inside_expressions() -> None:
    source = '<p>{{ m.fact(n, "Reviews zur Bewertung") }} im Digest</p>{% if x %}3 Tag(e){% endif %}'
    assert offences(_words_of_template(source)) == ["Digest", "Reviews", "g(e)"]


@pytest.mark.parametrize("kind", KINDS)
def test_rendered_reports_use_plain_german(rt_sqlite: Runtime, kind: str) -> None:
    s = seed(rt_sqlite)
    with unit_of_work(rt_sqlite.sessions) as session:
        document = build_report(
            session,
            organisation_id=s.organisation_id,
            kind=kind,
            year=2026,
            fmt="html",
            meeting_date=date(2026, 11, 20) if kind == "meeting" else None,
        ).content.decode("utf-8")
    body = re.sub(r"<(style|script)\b.*?</\1>", " ", document, flags=re.S)
    text = _TAG.sub(" ", body)
    assert "Maßnahme" in text
    assert offences(text) == []
