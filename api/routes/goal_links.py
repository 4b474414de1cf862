"""``PUT /api/v1/goals/{goal_id}/district-goal``: a town's coordinator names the district goal
a goal of the town serves, or none.

Body ``{"district_goal": "<code of a goal of the district>" | null}``. A goal of another
organisation is 404; a refused link (the organisation is no town of a district, the district
has no goal of that code) is 422 with the service's code (workflow/district/goal_links.py),
worded from api/locales/district2.*.json.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from api.csrf import require_csrf
from api.deps import Coordinator, SessionDep, organisation_of
from api.errors import ApiError
from api.i18n import translate
from api.routes.schemas import ERRORS, MAX_ID
from workflow.catalogue.models import Goal
from workflow.district.goal_links import GoalLinkRefused, link_goal

router = APIRouter(prefix="/api/v1/goals", tags=["district"], responses=ERRORS)


class DistrictGoalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    district_goal: str | None = Field(
        max_length=16, description="Nummer eines Ziels des Kreises; null: keinem Kreisziel"
    )


class GoalLinkOut(BaseModel):
    goal: str
    district_goal: str | None


@router.put(
    "/{goal_id}/district-goal",
    response_model=GoalLinkOut,
    summary="Ziel der Kommune einem Kreisziel zuordnen",
    dependencies=[Depends(require_csrf)],
)
def put_district_goal(
    goal_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    body: DistrictGoalIn,
    user: Coordinator,
    session: SessionDep,
) -> GoalLinkOut:
    org = organisation_of(session, user)
    goal = session.get(Goal, goal_id)
    if goal is None or goal.organisation_id != org.id:
        raise ApiError(
            404, "not_found", wording=lambda lang: translate("goal_link.error.unknown_goal", lang)
        )
    try:
        link_goal(session, goal=goal, district_goal_code=body.district_goal)
    except GoalLinkRefused as exc:
        refused = exc
        raise ApiError(
            422,
            refused.code,
            details={"params": refused.params},
            wording=lambda lang: translate(
                f"goal_link.error.{refused.code}", lang, **refused.params
            ),
        ) from None
    target = session.get(Goal, goal.district_goal_id) if goal.district_goal_id else None
    return GoalLinkOut(goal=goal.code, district_goal=target.code if target else None)
