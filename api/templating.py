"""The one Jinja2 environment of the web pages: autoescape on, ``_()`` for translations.

A page speaks with the words of its organisation (Fachbereich or Amt, Rat or Kreistag …):
the one passed as ``organisation``/``org`` or a form's ``scope.organisation``, else the
signed-in user's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import object_session

from api.csrf import token_for
from api.i18n import language_of, terms_in_effect, translate, translate_plural
from workflow.accounts import User
from workflow.catalogue.models import Organisation
from workflow.salutation import greeting

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
        "_n": lambda key, count, **values: translate_plural(key, count, lang, **values),
        "greeting": lambda person: greeting(
            salutation=getattr(person, "salutation", ""), name=person.name, lang=lang
        ),
        "csrf_token": token_for(request),
        # More than one: the header offers the switcher (api/dashboard/switcher.py).
        "places": getattr(request.state, "zf_places", []),
    }
    # The template is rendered right here, so every text it translates gets these words.
    acting = getattr(request.state, "zf_organisation", None)
    with terms_in_effect(_organisation(context) or acting):
        return templates.TemplateResponse(
            request, name, {**base, **context}, status_code=status_code, headers=headers
        )


def _organisation(context: dict[str, Any]) -> Organisation | None:
    for found in (
        context.get("organisation"),
        context.get("org"),
        getattr(context.get("scope"), "organisation", None),
    ):
        if isinstance(found, Organisation):
            return found
    user = context.get("user")
    if not isinstance(user, User):
        return None
    session = object_session(user)
    if session is None:
        return None
    with session.no_autoflush:
        return session.get(Organisation, user.organisation_id)
