"""Tables and counts that the fault and property suites show at the end of a pytest run; never asserts.

A test module hands its lines to ``record``; a plugin registered on first use prints every
section in pytest's terminal summary (so it appears in ``pytest -q`` output, captured or not)
and each section is also written to ``test-output/<name>.txt`` for CI artefacts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

PLUGIN_NAME = "zielflow-fault-report"
OUTPUT = Path(os.environ.get("ZIELFLOW_TEST_OUTPUT", "test-output"))


class SummaryPlugin:
    def __init__(self) -> None:
        self.sections: dict[str, list[str]] = {}

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for title, lines in self.sections.items():
            terminalreporter.write_sep("-", title)
            for line in lines:
                terminalreporter.write_line(line)


def _plugin(config: pytest.Config) -> SummaryPlugin:
    plugin = config.pluginmanager.get_plugin(PLUGIN_NAME)
    if plugin is None:
        plugin = SummaryPlugin()
        config.pluginmanager.register(plugin, PLUGIN_NAME)
    assert isinstance(plugin, SummaryPlugin)
    return plugin


def record(config: pytest.Config, title: str, lines: list[str], *, file: str) -> None:
    """Show ``lines`` under ``title`` in the terminal summary and keep them in ``file``."""
    _plugin(config).sections[title] = list(lines)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / file).write_text("\n".join([title, *lines]) + "\n", encoding="utf-8")


def append(config: pytest.Config, title: str, line: str, *, file: str) -> None:
    """Add one line to the section ``title`` (and its file), e.g. one property test's counts."""
    lines = _plugin(config).sections.setdefault(title, [])
    lines.append(line)
    print(line)  # also in the test's own captured output
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / file).write_text("\n".join([title, *lines]) + "\n", encoding="utf-8")


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(header), "-+-".join("-" * w for w in widths), *(line(r) for r in rows)]
