"""The JSON API under /api/v1: one router that includes every resource's router."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import organisation_words
from api.routes import (
    bodies,
    catalogue,
    cycles,
    decisions,
    district,
    goal_links,
    indicators,
    mail_domains,
    measure_cycle_batch,
    measure_cycles,
    meeting_pack,
    meetings,
    organisation,
    organisations,
    outbox,
    pipeline,
    reports,
    status_checks,
    status_requests,
    users,
    value_checks,
)

# Every JSON text that names a {unit} or {council} uses the words of the reader's organisation.
router = APIRouter(dependencies=[Depends(organisation_words, scope="function")])
# The batch before the single moves: a later POST /{item_id} must not capture "transitions".
for module in (
    pipeline,
    measure_cycle_batch,
    measure_cycles,
    cycles,
    catalogue,
    outbox,
    users,
    reports,
    indicators,
):
    router.include_router(module.router)
router.include_router(organisation.router)
router.include_router(mail_domains.router)
router.include_router(bodies.router)
router.include_router(meetings.router)
router.include_router(meeting_pack.router)
router.include_router(status_requests.router)
router.include_router(decisions.router)
router.include_router(status_checks.router)
router.include_router(value_checks.router)
router.include_router(district.router)
router.include_router(organisations.router)
router.include_router(goal_links.router)
