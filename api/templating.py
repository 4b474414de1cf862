"""The one Jinja2 environment of the web pages: autoescape on, ``_()`` for translations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.csrf import token_for
from api.i18n import language_of, translate

PAGES = Path(__file__).parent / "pages"
templates = Jinja2Templates(directory=PAGES)  # autoescape is on for .html


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    lang = language_of(request)
    base = {
        "lang": lang,
        "_": lambda key, **values: translate(key, lang, **values),
        "csrf_token": token_for(request),
    }
    return templates.TemplateResponse(
        request, name, {**base, **context}, status_code=status_code, headers=headers
    )
