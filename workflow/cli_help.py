"""The words Typer puts around our own help texts ("Usage:", "Options", the line of ``--help``),
in the language of this command.

Typer (0.29 carries its own copy of click) writes these in English with no catalogue hook,
so German help would open with "Usage:" and close with "Show this message and exit.". This
module swaps in our catalogue's words for exactly those help strings, the placeholders of the
usage line ("[OPTIONS]", "COMMAND [ARGS]...", an argument's name) included, and has
workflow/cli_usage.py word click's refusals of a command line; it never touches command
output or the wording of our own errors (workflow/cli_errors.py owns those). Should a later
Typer move them, the help falls back to English words around German texts: no failure.
"""

from __future__ import annotations

from typing import Any

from workflow import cli_usage
from workflow.cli_text import has, say

# Typer's module-level help words → our catalogue key; read by Typer at each rendering.
_PANELS = {
    "ARGUMENTS_PANEL_TITLE": "click.arguments",
    "OPTIONS_PANEL_TITLE": "click.options",
    "COMMANDS_PANEL_TITLE": "click.commands",
    "DEFAULT_STRING": "click.default",
    "ENVVAR_STRING": "click.envvar",
    "REQUIRED_LONG_STRING": "click.required",
    "DEPRECATED_STRING": "click.deprecated",
}
# click's fixed placeholders of the usage line → our catalogue key.
_USAGE_WORDS = {"[OPTIONS]": "click.options_metavar", "COMMAND [ARGS]...": "click.command_metavar"}
_patched = False


def localise_help() -> None:
    """Use the catalogue's words in Typer's help frame in the current language (repeatable)."""
    import typer.rich_utils

    for name, key in _PANELS.items():
        if hasattr(typer.rich_utils, name):
            setattr(typer.rich_utils, name, say(key))
    _patch_help_option_and_usage()
    cli_usage.localise_errors()


def _patch_help_option_and_usage() -> None:
    """Once per process: the ``--help`` line and the usage prefix ask the catalogue each time."""
    global _patched
    if _patched:
        return
    _patched = True
    try:
        from typer._click.core import Command
        from typer._click.formatting import HelpFormatter
    except ImportError:  # another Typer layout: keep its English words
        return
    if not (hasattr(Command, "get_help_option") and hasattr(HelpFormatter, "write_usage")):
        return
    get_help_option = Command.get_help_option
    write_usage = HelpFormatter.write_usage

    def localised_help_option(self: Any, ctx: Any) -> Any:
        option = get_help_option(self, ctx)
        if option is not None:
            option.help = say("click.help_option")
        return option

    def localised_usage(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
        prefix = say("click.usage") + " " if prefix is None else prefix
        write_usage(self, prog, usage_words(args), prefix)

    Command.get_help_option = localised_help_option  # type: ignore[method-assign]
    HelpFormatter.write_usage = localised_usage  # type: ignore[method-assign]
    _patch_argument_names()
    _patch_type_labels()


def usage_words(args: str) -> str:
    """The usage line's placeholders in the current language: "[OPTIONEN] BEFEHL …"."""
    for english, key in _USAGE_WORDS.items():
        args = args.replace(english, say(key))
    return args


def _patch_argument_names() -> None:
    """An argument is shown (usage line, help, errors) by its catalogue name: {jahr}, not {year}."""
    try:
        from typer.core import TyperArgument
    except ImportError:
        return
    shown = getattr(TyperArgument, "display_name_raw", None)
    if not isinstance(shown, property) or shown.fget is None:
        return
    own_name = shown.fget

    def localised_name(self: Any) -> str:
        name = own_name(self)
        # Only the parameter's own name; a metavar chosen in code is shown as written.
        if self.metavar is None and has(f"metavar.{name}"):
            return say(f"metavar.{name}")
        return name

    TyperArgument.display_name_raw = property(localised_name)  # type: ignore[method-assign,assignment]


def _patch_type_labels() -> None:
    """A parameter's kind in the help ("<int>", "<str>") by its catalogue word: <zahl>, <text>."""
    try:
        from typer.core import _TyperParameter
    except ImportError:
        return
    display_type = getattr(_TyperParameter, "display_type", None)
    if display_type is None:
        return

    def localised_type(self: Any, ctx: Any) -> Any:
        shown = display_type(self, ctx)
        if not (isinstance(shown, str) and shown.startswith("<") and shown.endswith(">")):
            return shown
        key = f"type.{shown[1:-1]}"
        return f"<{say(key)}>" if has(key) else shown  # a choice (<de|en>) has no key

    _TyperParameter.display_type = localised_type  # type: ignore[method-assign]
