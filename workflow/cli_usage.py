"""click's own refusals of a command line ("No such option", "Missing option", "Invalid value
for …") and the lines around them (usage, the hint to ``--help``, "Error"), in the language of
this command.

Typer 0.29 carries its own copy of click whose messages are plain English f-strings, not
gettext calls, so there is no catalogue to swap. Instead the two places that print such an
error (Typer's rich panel and click's plain ``show``) ask this module for the sentence first;
it words the error from its type and parameter (``cli.*`` ``click.*`` keys), and from the
pydantic error behind an invalid value. An error it does not recognise keeps click's English
sentence inside our frame: a later Typer can only make a sentence English, never fail.
It never touches help texts (workflow/cli_help.py) or errors of our own commands
(workflow/cli_errors.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import IO, Any

from workflow import cli_lang
from workflow.cli_text import count, has, say, say_n

# Messages that click raises as bare UsageErrors, matched on its English wording.
_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (
        re.compile(r"Option (?P<name>'.+') requires an argument\."),
        lambda m: say("click.requires_value", name=m["name"]),
    ),
    (
        re.compile(r"Option (?P<name>'.+') requires (?P<n>\d+) arguments\."),
        lambda m: say("click.requires_values", name=m["name"], count=m["n"]),
    ),
    (
        re.compile(r"Option (?P<name>'.+') does not take a value\."),
        lambda m: say("click.takes_no_value", name=m["name"]),
    ),
    (
        re.compile(r"No such command (?P<name>'.+')\."),
        lambda m: say("click.no_such_command", name=m["name"]),
    ),
    (re.compile(r"Missing command\."), lambda m: say("click.missing_command")),
    (
        re.compile(r"Got unexpected extra argument\(s\) \((?P<args>.*)\)"),
        lambda m: say_n("click.extra_arguments", len(m["args"].split()), args=m["args"]),
    ),
)
# pydantic's bound checks → (catalogue key, the ctx entry holding the limit)
_BOUNDS = {
    "greater_than_equal": ("click.reason.at_least", "ge"),
    "less_than_equal": ("click.reason.at_most", "le"),
    "greater_than": ("click.reason.above", "gt"),
    "less_than": ("click.reason.below", "lt"),
}
_INTEGER = ("int_parsing", "int_type", "int_from_float")
_NUMBER = ("float_parsing", "float_type")
# Typer's choice check: "'xx' is not one of 'de', 'en'."
_CHOICE = re.compile(r"(?P<value>.+) is not one of (?P<choices>.+)\.")
_patched = False


def localise_errors() -> None:
    """Words of the error frame in the current language; the printers patched once."""
    import typer.rich_utils

    frame = {
        "ERRORS_PANEL_TITLE": say("click.error"),
        "ABORTED_TEXT": say("click.aborted"),
        # Typer fills in the command afterwards: the braces must survive our formatting.
        "RICH_HELP": say("click.try_help", command="[blue]'{command_path} {help_option}'[/]"),
    }
    for name, value in frame.items():
        if hasattr(typer.rich_utils, name):
            setattr(typer.rich_utils, name, value)
    _patch_printers()


def _patch_printers() -> None:
    global _patched
    if _patched:
        return
    _patched = True
    try:
        import typer.rich_utils
        from typer._click.exceptions import ClickException, UsageError
    except ImportError:  # another Typer layout: click's English sentences stay
        return
    rich_format_error = getattr(typer.rich_utils, "rich_format_error", None)
    if rich_format_error is not None:

        def localised_rich(exc: Any) -> None:
            _reword(exc)
            rich_format_error(exc)

        # setattr: Typer declares the printer for ClickException only, ours takes any error.
        setattr(typer.rich_utils, "rich_format_error", localised_rich)  # noqa: B010
    ClickException.show = _show  # type: ignore[method-assign]
    UsageError.show = _show  # type: ignore[method-assign]


def _reword(exc: Any) -> None:
    """Our sentence replaces the error's own, for this one error object only."""
    try:
        sentence = message(exc)
    except Exception:  # wording an error must never hide it
        sentence = None
    if sentence is not None:
        exc.format_message = lambda: sentence


def _show(self: Any, file: IO[Any] | None = None) -> None:
    """click's plain printing of an error (without rich), in our words."""
    import sys

    from typer._click.utils import echo

    out = file if file is not None else sys.stderr
    ctx = getattr(self, "ctx", None)
    color = ctx.color if ctx is not None else None
    if ctx is not None:
        echo(ctx.get_usage(), file=out, color=color)
        if ctx.command.get_help_option(ctx) is not None:
            command = f"'{ctx.command_path} {ctx.help_option_names[0]}'"
            echo(say("click.try_help", command=command), file=out, color=color)
    _reword(self)
    echo(f"{say('click.error')}: {self.format_message()}", file=out, color=color)


def message(exc: Any) -> str | None:
    """The sentence for click's error ``exc`` in this command's language; None: click's own."""
    from typer._click import exceptions as click

    if isinstance(exc, click.NoSuchOption):
        return _no_such_option(exc)
    if isinstance(exc, click.MissingParameter):
        return _missing(exc)
    if isinstance(exc, click.BadParameter):
        return _invalid(exc)
    if isinstance(exc, click.UsageError):
        return _by_pattern(str(exc.message))
    return None


def _no_such_option(exc: Any) -> str | None:
    if not str(exc.message).startswith("No such option"):
        return None  # a sentence of its own, not click's standard one
    sentence = say("click.no_such_option", name=_printable(exc.option_name))
    if exc.possibilities:
        options = ", ".join(sorted(exc.possibilities))
        sentence += " " + say("click.possible_options", options=options)
    return sentence


def _missing(exc: Any) -> str | None:
    kind = exc.param_type or getattr(exc.param, "param_type_name", "parameter")
    if exc.message or not has(f"click.missing_{kind}"):
        return None
    sentence = say(f"click.missing_{kind}", name=_hint(exc))
    extra = exc.param.get_missing_message(ctx=exc.ctx) if exc.param is not None else ""
    if extra and extra.startswith("Choose from:"):
        choices = ", ".join(c.strip() for c in extra.removeprefix("Choose from:").split(","))
        sentence += " " + say("click.choose_from", choices=choices)
    return sentence


def _invalid(exc: Any) -> str:
    reason = _reason(exc) or str(exc.message)
    hint = _hint(exc)
    if not hint:
        return say("click.invalid", reason=reason)
    return say("click.invalid_value", name=hint, reason=reason)


def _hint(exc: Any) -> str:
    """The parameter as click names it: 'year', '--days' (with its environment variable)."""
    if exc.param_hint is not None:
        hint = exc.param_hint
        return hint if isinstance(hint, str) else " / ".join(repr(x) for x in hint)
    param = exc.param
    if param is None:
        return ""
    if getattr(param, "param_type_name", "") != "option":
        return f"'{param.display_name_raw}'"
    shown = " / ".join(f"'{o}'" for o in (param.opts or [param.display_name_raw]))
    if getattr(param, "show_envvar", False) and getattr(param, "envvar", None):
        shown += " " + say("click.envvar_hint", name=f"'{param.envvar}'")
    return shown


def _reason(exc: Any) -> str | None:
    """Why a value was refused, from the pydantic error behind it; None if unknown."""
    errors = getattr(exc.__cause__, "errors", None)
    if errors is None:
        return None
    first: dict[str, Any] = errors()[0]
    kind, ctx = first.get("type", ""), first.get("ctx") or {}
    value = f"'{_printable(str(first.get('input', '')))}'"
    if kind in _INTEGER:
        return say("click.reason.integer", value=value)
    if kind in _NUMBER:
        return say("click.reason.number", value=value)
    if kind in _BOUNDS:
        key, bound = _BOUNDS[kind]
        return say(key, limit=_number(ctx.get(bound)))
    found = _CHOICE.fullmatch(str(ctx.get("error", "")))
    if kind == "value_error" and found:
        return say("click.reason.choice", value=found["value"], choices=found["choices"])
    return None


def _by_pattern(text: str) -> str | None:
    for pattern, word in _PATTERNS:
        found = pattern.fullmatch(text)
        if found:
            return word(found)
    return None


def _number(limit: object) -> str:
    # 2147483647 reads as 2.147.483.647 in German; anything else as given.
    return count(limit, cli_lang.current()) if isinstance(limit, int) else str(limit)


def _printable(text: str) -> str:
    # What a user typed is shown, but never as a second line or a terminal escape.
    return "".join(c if c.isprintable() else "?" for c in text)
