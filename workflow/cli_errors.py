"""How a failed ``zielflow`` command ends: one line on standard error, never a traceback.

Owns the table from known error types (each carrying a code and parameters) to sentences in
the command's language (``cli_lang.current()``, German by default; the sentences are the
``cli.*`` keys of workflow/locales/errors.*.json), the lines of a refused import file, the
diagnosis of database errors (unreachable, not set up, behind) and the ``--debug``
switch that shows the traceback as well. Exit status 1 is a user error (a setting, the
database, a file, an organisation); 70 (EX_SOFTWARE) is an error no table knows, a bug.
It holds no command of its own and never changes data.
"""

from __future__ import annotations

import re
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, Protocol, get_args

from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from workflow import cli_lang, messages

USER_ERROR = 1
INTERNAL_ERROR = 70
# An unknown error's own message is shown only this far: SQL and its data can be long.
DETAIL_CHARS = 200

_debug = False


def set_debug(on: bool) -> None:
    """``--debug``: print the traceback before the sentence."""
    global _debug
    _debug = on


def run(main: Callable[[], object]) -> None:
    """Run the command line; a known error ends with its sentence and status 1."""
    try:
        main()
    except Exception as exc:  # click has already answered its own usage errors
        fail(exc)


def fail(exc: Exception) -> NoReturn:
    if _debug:
        traceback.print_exception(exc)
    try:
        sentence = describe(exc)
    except Exception:  # a failing diagnosis must not bring the traceback back
        sentence = None
    status = USER_ERROR
    if sentence is None:
        status = INTERNAL_ERROR
        detail = _one_line(str(exc))[:DETAIL_CHARS]
        sentence = _say(
            "cli.unexpected", kind=type(exc).__name__, detail=f": {detail}" if detail else ""
        )
    print(sentence, file=sys.stderr)
    sys.exit(status)


class RefusedFile(Protocol):
    """A refused import (CatalogueInvalid, IndicatorsInvalid): a summary code, every row."""

    code: str
    params: dict[str, Any]

    @property
    def errors(self) -> list[Any]: ...


def refused_file(path: Path, exc: RefusedFile) -> list[str]:
    """The lines of a refused import file: the summary, then each row error by line and column."""
    lang = cli_lang.current()
    head = f"{path}: {messages.message(exc.code, lang, **exc.params)}"
    return [head, *(f"  {_one_line(error.text(lang))}" for error in exc.errors)]


def sentence(exc: Any) -> str:
    """A domain refusal (``.code``, ``.params``) as one line in the CLI's language."""
    return _one_line(_say(exc.code, **getattr(exc, "params", {})))


def _say(code: str, **params: Any) -> str:
    return messages.message(code, cli_lang.current(), **params)


def describe(exc: BaseException) -> str | None:
    """The sentence for a known error, in the CLI's language; None for an error no table knows."""
    for kind, word in _table():
        if isinstance(exc, kind):
            sentence = word(exc)
            if sentence is not None:
                return _one_line(sentence)
    return None


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- organisations and cycles: the domain's codes and parameters ---------------------------


def _organisation(exc: Any) -> str | None:
    params: dict[str, Any] = getattr(exc, "params", {})
    code = getattr(exc, "code", "")
    if code not in ("organisation_none", "organisation_unknown", "organisation_ambiguous"):
        return None
    none = messages.message("none", cli_lang.current())
    known = ", ".join(params.get("known", [])) or none
    return _say(f"cli.{code}", slug=params.get("slug", ""), known=known)


def _cycle_year(exc: Any) -> str:
    allowed = list(exc.allowed)
    return _say("cli.cycle_year", year=exc.year, first=allowed[0], last=allowed[-1])


# --- settings -------------------------------------------------------------------------------

_SECRET = re.compile(r"password|secret|key|token|url", re.IGNORECASE)
# pydantic's error type → the kind of value wanted (a ``cli.setting.*`` key)
_WANTED = {
    "int_parsing": "cli.setting.integer",
    "int_type": "cli.setting.integer",
    "int_from_float": "cli.setting.integer",
    "float_parsing": "cli.setting.number",
    "float_type": "cli.setting.number",
    "bool_parsing": "cli.setting.boolean",
    "bool_type": "cli.setting.boolean",
}
# The codes of workflow/config.py's SettingsRefused that have a sentence here.
_REFUSED = ("send_lease_too_short", "secret_key_default")


def _settings(exc: ValidationError) -> str | None:
    if exc.title != "Settings":
        return None  # a model of a command's own input is not a setting
    problems = "; ".join(_setting_problem(e) for e in exc.errors())
    return _say("cli.settings_invalid", problems=problems)


def _setting_problem(error: Any) -> str:
    loc = error.get("loc") or ()
    cause: Any = (error.get("ctx") or {}).get("error")
    if not loc:  # the validator over all settings at once
        code = getattr(cause, "code", None)
        if code in _REFUSED:
            return _say(f"cli.setting.{code}", **cause.params)
        return str(cause or error.get("msg", ""))
    field = str(loc[0])
    name = "ZIELFLOW_" + field.upper()
    value = error.get("input")
    if _SECRET.search(field) or not isinstance(value, str):
        shown = name  # a secret (or an address holding one) is never echoed
    else:
        # What was typed is shown, but never as a second line or a terminal escape.
        shown = f"{name}='{''.join(c if c.isprintable() else '?' for c in value[:80])}'"
    return f"{shown}: {_setting_reason(field, error)}"


def _setting_reason(field: str, error: Any) -> str:
    from workflow.config import Settings

    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind in _WANTED:
        return _say("cli.setting.wanted", wanted=_say(_WANTED[kind]))
    if kind in {"literal_error", "enum"}:
        info = Settings.model_fields.get(field)
        allowed = [str(v) for v in get_args(info.annotation)] if info else []
        if allowed:
            return _say("cli.setting.allowed", allowed=", ".join(allowed))
        return _say("cli.setting.not_allowed")
    bounds = {
        "greater_than_equal": "ge",
        "greater_than": "gt",
        "less_than_equal": "le",
        "less_than": "lt",
    }
    if kind in bounds:
        return _say(f"cli.setting.{kind}", limit=ctx.get(bounds[kind]))
    return _say("cli.setting.invalid")


def _settings_source(exc: SettingsError) -> str:
    # pydantic-settings: 'error parsing value for field "x" from source "EnvSettingsSource"'
    found = re.search(r'field "(\w+)"', str(exc))
    name = f"ZIELFLOW_{found.group(1).upper()}" if found else _say("cli.setting.some")
    return _say("cli.setting.unreadable", name=name)


def _database_url(exc: ArgumentError) -> str | None:
    # Only the URL's own errors; any other ArgumentError is a programming mistake.
    if not isinstance(exc, NoSuchModuleError) and "URL" not in str(exc):
        return None
    return _say("cli.database_url")


# --- the database ---------------------------------------------------------------------------


def _database(exc: DBAPIError) -> str | None:
    url = _configured_database()
    sqlite_file = _sqlite_file(url)
    upgrade = _say("cli.upgrade")
    if exc.statement is None:  # refused while connecting
        if sqlite_file is not None and not sqlite_file.exists():
            return _say("cli.database_not_set_up", upgrade=upgrade)
        return _say("cli.database_unreachable")
    match _schema_state(url):
        case "empty":
            return _say("cli.database_not_set_up", upgrade=upgrade)
        case "behind":
            return _say("cli.database_behind", upgrade=upgrade)
    return None  # set up and current: a genuine error, not the operator's


def _configured_database() -> str:
    from workflow import runtime

    return runtime.current().settings.database_url


def _sqlite_file(url: str) -> Path | None:
    if not url.startswith("sqlite:///") or ":memory:" in url:
        return None
    return Path(url.removeprefix("sqlite:///"))


def _schema_state(url: str) -> str | None:
    """'empty' (no migration ran), 'behind' (not at this version's head), 'current' or None."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from workflow.db import make_engine
    from workflow.migrate import alembic_config

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            applied = set(MigrationContext.configure(conn).get_current_heads())
        heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    except Exception:  # a diagnosis must never replace the error it explains
        return None
    finally:
        engine.dispose()
    if not applied:
        return "empty"
    return "current" if applied == heads else "behind"


# --- files ----------------------------------------------------------------------------------


def _file(exc: OSError) -> str | None:
    if exc.filename is None:
        return None
    path = Path(str(exc.filename))
    if isinstance(exc, FileNotFoundError):
        if not path.parent.is_dir():
            return _say("cli.folder_missing", path=path.parent)
        return _say("cli.file_missing", path=path)
    if isinstance(exc, PermissionError):
        return _say("cli.no_permission", path=path)
    if isinstance(exc, IsADirectoryError):
        return _say("cli.is_a_folder", path=path)
    if isinstance(exc, NotADirectoryError):
        return _say("cli.not_a_folder", path=path)
    return None


# The domain's refusals, by module: an exception whose module was never imported cannot
# have been raised, so a command that fails early (a setting, the database address) does
# not load the models only to rule them out; that would double the time of such a failure.
_DOMAIN: tuple[tuple[str, str, Callable[[Any], str | None]], ...] = (
    ("workflow.orgs", "OrganisationAmbiguous", _organisation),
    ("workflow.cycles.service", "CycleYearRefused", _cycle_year),
)


def _table() -> list[tuple[type[BaseException], Callable[[Any], str | None]]]:
    loaded = [
        (getattr(sys.modules[module], name), word)
        for module, name, word in _DOMAIN
        if module in sys.modules
    ]
    return [
        *loaded,
        (ValidationError, _settings),
        (SettingsError, _settings_source),
        (ArgumentError, _database_url),
        (DBAPIError, _database),
        (OSError, _file),
    ]
