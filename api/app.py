"""Builds the FastAPI application; routes live in their own modules, state lives in the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from api import docs, errors, forms, pages
from api.body_limit import BodyLimit
from api.deps import PublicRoute
from api.forms import actor_activities, conference_invitation, conference_survey
from api.openapi_security import declare_security
from api.routes import router as api_router
from api.security_headers import SecuredFastAPI
from workflow import runtime
from workflow.accounts import dummy_hash


def create_app() -> FastAPI:
    settings = runtime.current().settings
    dummy_hash()  # before the first login, which must not be the slow one
    app = SecuredFastAPI(
        https=settings.base_url.startswith("https"),
        title="zielflow",
        version="0.1.0",
        description="Zielvereinbarungszyklus der kommunalen Integrationsplanung",
        docs_url=None,  # api/docs.py serves /docs from packaged assets when enabled
        redoc_url=None,
    )

    @app.get("/healthz", tags=["system"], dependencies=[PublicRoute])
    def healthz() -> dict[str, str]:
        from sqlalchemy import text

        with runtime.current().engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok"}

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="zf_session",
        max_age=12 * 3600,
        same_site="lax",
        https_only=settings.base_url.startswith("https"),
    )
    errors.install(app)
    app.include_router(api_router)
    app.include_router(pages.router)
    app.include_router(forms.router)
    for public in (conference_invitation, conference_survey, actor_activities):
        app.include_router(public.router)
    forms.install_log_redaction()
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    generated = app.openapi

    def openapi() -> dict[str, Any]:
        document = generated()  # FastAPI builds it once and keeps it
        if "securitySchemes" not in document.get("components", {}):
            declare_security(app, document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
    if settings.docs_enabled:
        docs.install(app)
    # Added last, so it runs first: a body over the limit is refused before sessions, CSRF,
    # authentication or any parsing see it.
    app.add_middleware(
        BodyLimit,
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
    )
    return app
