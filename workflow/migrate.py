"""Runs the Alembic migrations that ship inside the package; no other schema changes exist."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from sqlalchemy import DateTime

from workflow.db import UTCDateTime

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url), revision)


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def compare_type(
    ctx: Any, inspected: Any, metadata: Any, inspected_type: Any, metadata_type: Any
) -> bool | None:
    if isinstance(metadata_type, UTCDateTime):
        return not isinstance(inspected_type, DateTime)
    return None


def include_object_on(dialect: str) -> Callable[..., bool]:
    """Alembic's ``include_object`` for a database of ``dialect``: an index the models
    create on another database only (``Index.ddl_if``) is not expected here."""

    def include(obj: Any, _name: str | None, type_: str, reflected: bool, _other: Any) -> bool:
        wanted = getattr(obj, "_ddl_if", None) if type_ == "index" and not reflected else None
        return wanted is None or wanted.dialect is None or wanted.dialect == dialect

    return include
