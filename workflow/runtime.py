"""Per-process singletons: settings, engine, session factory, clock; replaced whole in tests."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from workflow.clock import Clock, SystemClock
from workflow.config import Settings, get_settings
from workflow.db import make_engine, make_session_factory


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock

    def dispose(self) -> None:
        self.engine.dispose()


_current: Runtime | None = None


def build(settings: Settings, clock: Clock | None = None) -> Runtime:
    engine = make_engine(settings.database_url, pool_size=settings.database_pool_size)
    return Runtime(settings, engine, make_session_factory(engine), clock or SystemClock())


def current() -> Runtime:
    global _current
    if _current is None:
        _current = build(get_settings())
    return _current


def install(runtime: Runtime | None) -> None:
    """Tests and the simulation put their own runtime (database, clock) in place."""
    global _current
    if _current is not None and _current is not runtime:
        _current.dispose()
    _current = runtime
