"""The language of this ``zielflow`` process's output: German unless ``--lang en`` says otherwise.

Holds one value for the whole command (help, summaries and error lines read it); it is set
once, before any command runs, and never changes data.
"""

from __future__ import annotations

import os

LANGUAGES = ("de", "en")
DEFAULT = "de"

_lang = DEFAULT


def set_language(lang: str) -> None:
    global _lang
    _lang = lang if lang in LANGUAGES else DEFAULT


def current() -> str:
    return _lang


def from_argv(argv: list[str]) -> str:
    """``--lang en`` / ``--lang=en`` anywhere on the line, else ``ZIELFLOW_LANG``, else German.

    Read before the command tree is built so that ``--help`` is already in that language.
    """
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1] if argv[i + 1] in LANGUAGES else DEFAULT
        if arg.startswith("--lang="):
            value = arg.split("=", 1)[1]
            return value if value in LANGUAGES else DEFAULT
    env = os.environ.get("ZIELFLOW_LANG", "")
    return env if env in LANGUAGES else DEFAULT
