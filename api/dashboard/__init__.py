"""The coordinator's and the steering group's web pages: one router including each page module."""

from __future__ import annotations

from fastapi import APIRouter

from api.dashboard import (
    actor_activities,
    bodies,
    conference_survey,
    conferences,
    contacts,
    council,
    decisions,
    dimensions,
    district,
    goal_links,
    heads,
    indicators,
    interview,
    mails,
    measure,
    measure_edit,
    meeting_forms,
    meeting_pack,
    meetings,
    monitoring,
    my_bodies,
    operator,
    organisation,
    outbox,
    overview,
    reports,
    status_checks,
    status_sheet,
    switcher,
    value_checks,
)

router = APIRouter(include_in_schema=False)
# Before the indicator pages: /kennzahlen/pruefung is not /kennzahlen/{indicator_id}.
router.include_router(value_checks.router)
for module in (overview, measure, interview, mails, reports, dimensions, indicators):
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
router.include_router(monitoring.router)
router.include_router(conferences.router)
router.include_router(conference_survey.router)
router.include_router(actor_activities.router)
router.include_router(district.router)
router.include_router(switcher.router)
router.include_router(operator.router)
router.include_router(goal_links.router)
