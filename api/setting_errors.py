"""The sentences for refused organisation settings and department heads, in the reader's language.

The domain (workflow/organisation_settings.py, workflow/catalogue/heads.py) names each refusal
by a code and parameters; the page, the JSON API and the CLI all word it here, from the
``org.*`` and ``heads.*`` keys of api/locales/organisation.*.json. Reads nothing else.
"""

from __future__ import annotations

from typing import Any, Protocol

from api.i18n import translate


class Refusal(Protocol):
    @property
    def setting(self) -> str: ...

    @property
    def code(self) -> str: ...

    @property
    def params(self) -> dict[str, Any]: ...


def setting_label(name: str, lang: str) -> str:
    key = f"org.field.{name}"
    text = translate(key, lang)
    return name if text == key else text


def setting_problem(problem: Refusal, lang: str) -> str:
    label = setting_label(problem.setting, lang)
    return translate(f"org.error.{problem.code}", lang, label=label, **problem.params)


def head_problem(problem: Refusal, lang: str) -> str:
    label = translate(f"heads.field.{problem.setting}", lang)
    return translate(f"heads.error.{problem.code}", lang, label=label, **problem.params)
