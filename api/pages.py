"""The web pages of signed-in users: sign-in and account, then the dashboard; ``/`` leads there."""

from __future__ import annotations

from fastapi import APIRouter

from api import account, auth, dashboard

router = APIRouter(include_in_schema=False)
router.include_router(auth.router)
router.include_router(account.router)
router.include_router(dashboard.router)
