"""The words Typer puts around our own help texts ("Usage:", "Options", the line of ``--help``),
in the language of this command.

Typer (0.29 carries its own copy of click) writes these in English with no catalogue hook,
so German help would open with "Usage:" and close with "Show this message and exit.". This
module swaps in our catalogue's words for exactly those help strings; it never touches
command output or the wording of errors (workflow/cli_errors.py owns those). Should a later
Typer move them, the help falls back to English words around German texts: no failure.
"""

from __future__ import annotations

from typing import Any

from workflow.cli_text import say

# Typer's module-level help words → our catalogue key; read by Typer at each rendering.
_PANELS = {
    "ARGUMENTS_PANEL_TITLE": "click.arguments",
    "OPTIONS_PANEL_TITLE": "click.options",
    "COMMANDS_PANEL_TITLE": "click.commands",
    "DEFAULT_STRING": "click.default",
    "ENVVAR_STRING": "click.envvar",
    "REQUIRED_LONG_STRING": "click.required",
}
_patched = False


def localise_help() -> None:
    """Use the catalogue's words in Typer's help frame in the current language (repeatable)."""
    import typer.rich_utils

    for name, key in _PANELS.items():
        if hasattr(typer.rich_utils, name):
            setattr(typer.rich_utils, name, say(key))
    _patch_help_option_and_usage()


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
        write_usage(self, prog, args, say("click.usage") + " " if prefix is None else prefix)

    Command.get_help_option = localised_help_option  # type: ignore[method-assign]
    HelpFormatter.write_usage = localised_usage  # type: ignore[method-assign]
