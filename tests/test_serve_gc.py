"""``zielflow serve`` freezes what exists before it serves, so that a full garbage collection
under load does not walk the modules, the app and the mapped classes (bench/FINDINGS.md)."""

from __future__ import annotations

import gc
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from typer.testing import CliRunner

from workflow.cli import app
from workflow.runtime import Runtime


def test_serve_freezes_the_objects_built_before_it_serves(
    rt_sqlite: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    def run(application: object, **options: Any) -> None:
        seen.update(frozen=gc.get_freeze_count(), application=application, options=options)

    monkeypatch.setattr(uvicorn, "run", run)
    gc.unfreeze()
    try:
        result = CliRunner().invoke(app, ["serve", "--port", "8765"])
    finally:
        gc.unfreeze()  # this test process lives on; its objects must stay collectable
    assert result.exit_code == 0, result.output
    assert isinstance(seen["application"], FastAPI)
    assert seen["options"]["port"] == 8765
    assert seen["frozen"] > 10_000
