"""Builds the FastAPI application; routes live in their own modules, state lives in the database."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api import pages
from api.csrf import CSRFCookieMiddleware
from workflow import runtime


def create_app() -> FastAPI:
    app = FastAPI(
        title="zielflow",
        version="0.1.0",
        description="Zielvereinbarungszyklus der kommunalen Integrationsplanung",
    )

    @app.get("/healthz", tags=["system"])
    def healthz() -> dict[str, str]:
        from sqlalchemy import text

        with runtime.current().engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok"}

    settings = runtime.current().settings
    app.add_middleware(CSRFCookieMiddleware, secure=settings.base_url.startswith("https"))
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    return app
