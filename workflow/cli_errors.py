"""How a failed ``zielflow`` command ends: one German line on standard error, never a traceback.

Owns the table from known error types (each carrying a code and parameters) to sentences,
the diagnosis of database errors (unreachable, not set up, behind) and the ``--debug``
switch that shows the traceback as well. Exit status 1 is a user error (a setting, the
database, a file, an organisation); 70 (EX_SOFTWARE) is an error no table knows, a bug.
It holds no command of its own and never changes data.
"""

from __future__ import annotations

import re
import sys
import traceback
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, NoReturn, get_args

from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

USER_ERROR = 1
INTERNAL_ERROR = 70
UPGRADE = "Bitte zuerst 'zielflow db upgrade' ausführen."
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
        sentence = (
            f"Unerwarteter Fehler ({type(exc).__name__}{': ' + detail if detail else ''}). "
            "Mit 'zielflow --debug …' erneut aufrufen, um die Einzelheiten zu sehen."
        )
    print(sentence, file=sys.stderr)
    sys.exit(status)


def describe(exc: BaseException) -> str | None:
    """The German sentence for a known error; None for an error no table knows."""
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
    known = ", ".join(params.get("known", [])) or "keine"
    match getattr(exc, "code", ""):
        case "organisation_none":
            return (
                "Es gibt noch keine Organisation: zuerst einen Katalog importieren "
                "('zielflow import-catalogue DATEI')."
            )
        case "organisation_unknown":
            return f"Die Organisation '{params.get('slug')}' gibt es nicht (vorhanden: {known})."
        case "organisation_ambiguous":
            return f"Es gibt mehrere Organisationen: bitte mit --org eine wählen ({known})."
    return None


def _cycle_year(exc: Any) -> str:
    allowed = list(exc.allowed)
    return (
        f"Das Jahr {exc.year} liegt außerhalb der Jahre {allowed[0]} bis {allowed[-1]}. "
        "Ein anderes Jahr nur mit --confirm eröffnen."
    )


# --- settings -------------------------------------------------------------------------------

_SECRET = re.compile(r"password|secret|key|token|url", re.IGNORECASE)
_WANTED = {
    "int_parsing": "eine ganze Zahl",
    "int_type": "eine ganze Zahl",
    "int_from_float": "eine ganze Zahl",
    "float_parsing": "eine Zahl",
    "float_type": "eine Zahl",
    "bool_parsing": "true oder false",
    "bool_type": "true oder false",
}
_REFUSED = {
    "send_lease_too_short": (
        "ZIELFLOW_SEND_LEASE_SECONDS ({lease}) muss länger sein als {factor} × "
        "ZIELFLOW_SMTP_TIMEOUT_SECONDS ({timeout})."
    ),
    "secret_key_default": (
        "ZIELFLOW_SECRET_KEY muss in der Produktion auf einen eigenen, zufälligen Wert gesetzt sein."
    ),
}


def _settings(exc: ValidationError) -> str | None:
    if exc.title != "Settings":
        return None  # a model of a command's own input is not a setting
    return "Ungültige Einstellung: " + "; ".join(_setting_problem(e) for e in exc.errors())


def _setting_problem(error: Any) -> str:
    loc = error.get("loc") or ()
    cause: Any = (error.get("ctx") or {}).get("error")
    if not loc:  # the validator over all settings at once
        code = getattr(cause, "code", None)
        if code in _REFUSED:
            return _REFUSED[code].format(**cause.params)
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
        return f"erwartet wird {_WANTED[kind]}"
    if kind in {"literal_error", "enum"}:
        info = Settings.model_fields.get(field)
        allowed = [str(v) for v in get_args(info.annotation)] if info else []
        return "erlaubt sind " + ", ".join(allowed) if allowed else "der Wert ist nicht erlaubt"
    bounds = {
        "greater_than_equal": ("mindestens", "ge"),
        "greater_than": ("größer als", "gt"),
        "less_than_equal": ("höchstens", "le"),
        "less_than": ("kleiner als", "lt"),
    }
    if kind in bounds:
        words, key = bounds[kind]
        return f"erlaubt ist {words} {ctx.get(key)}"
    return "der Wert ist ungültig"


def _settings_source(exc: SettingsError) -> str:
    # pydantic-settings: 'error parsing value for field "x" from source "EnvSettingsSource"'
    found = re.search(r'field "(\w+)"', str(exc))
    name = f"ZIELFLOW_{found.group(1).upper()}" if found else "eine ZIELFLOW_-Einstellung"
    return f"Ungültige Einstellung: {name} ist nicht lesbar."


def _database_url(exc: ArgumentError) -> str | None:
    # Only the URL's own errors; any other ArgumentError is a programming mistake.
    if not isinstance(exc, NoSuchModuleError) and "URL" not in str(exc):
        return None
    return (
        "Ungültige Einstellung: ZIELFLOW_DATABASE_URL ist keine Datenbankadresse, die zielflow "
        "kennt (z. B. postgresql+psycopg://… oder sqlite:///…)."
    )


# --- the database ---------------------------------------------------------------------------


def _database(exc: DBAPIError) -> str | None:
    url = _configured_database()
    sqlite_file = _sqlite_file(url)
    if exc.statement is None:  # refused while connecting
        if sqlite_file is not None and not sqlite_file.exists():
            return f"Die Datenbank ist noch nicht eingerichtet. {UPGRADE}"
        return (
            "Die Datenbank ist nicht erreichbar. Bitte ZIELFLOW_DATABASE_URL und den "
            "Datenbankserver prüfen."
        )
    match _schema_state(url):
        case "empty":
            return f"Die Datenbank ist noch nicht eingerichtet. {UPGRADE}"
        case "behind":
            return f"Die Datenbank ist nicht auf dem Stand dieser Version. {UPGRADE}"
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
            return f"Den Ordner {path.parent} gibt es nicht."
        return f"Die Datei {path} gibt es nicht."
    if isinstance(exc, PermissionError):
        return f"Keine Berechtigung für {path}."
    if isinstance(exc, IsADirectoryError):
        return f"{path} ist ein Ordner, keine Datei."
    if isinstance(exc, NotADirectoryError):
        return f"Im Pfad {path} ist ein Teil kein Ordner."
    return None


@cache
def _table() -> list[tuple[type[BaseException], Callable[[Any], str | None]]]:
    # Imported on first failure: the domain modules load the models, which --help never needs.
    from workflow.cycles.service import CycleYearRefused
    from workflow.orgs import OrganisationAmbiguous

    return [
        (OrganisationAmbiguous, _organisation),
        (CycleYearRefused, _cycle_year),
        (ValidationError, _settings),
        (SettingsError, _settings_source),
        (ArgumentError, _database_url),
        (DBAPIError, _database),
        (OSError, _file),
    ]
