"""The coordinator's and the steering group's web pages: one router including each page module."""

from __future__ import annotations

from fastapi import APIRouter

from api.dashboard import (
    bodies,
    contacts,
    council,
    decisions,
    heads,
    indicators,
    interview,
    mails,
    measure,
    measure_edit,
    meeting_forms,
    meeting_pack,
    meetings,
    my_bodies,
    organisation,
    outbox,
    overview,
    reports,
    status_checks,
    status_sheet,
)

router = APIRouter(include_in_schema=False)
for module in (overview, measure, interview, mails, reports, indicators):
    router.include_router(module.router)
for module in (organisation, heads, contacts, outbox):
    router.include_router(module.router)
router.include_router(bodies.router)
router.include_router(measure_edit.router)
router.include_router(decisions.router)
router.include_router(meetings.router)
router.include_router(meeting_forms.router)
router.include_router(meeting_pack.router)
router.include_router(my_bodies.router)
router.include_router(status_sheet.router)
router.include_router(status_checks.router)
router.include_router(council.router)
