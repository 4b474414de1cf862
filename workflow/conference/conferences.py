"""Creating and editing an Integrationskonferenz. Never commits.

Each conference gets its survey's short code here: 8 characters from an alphabet without
look-alikes (no 0/o, 1/l/i), so it can be typed from a projected slide; about 10^11 codes
keep strangers from guessing a small room's survey.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.conference.errors import ConferenceRefused
from workflow.conference.models import Conference

CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
CODE_LENGTH = 8
LIMITS = {"title": 300, "time_label": 100, "place": 300}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ufffe\uffff]")


def new_survey_code(session: Session) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        taken = session.scalars(select(Conference.id).where(Conference.survey_code == code))
        if taken.first() is None:
            return code


def _clean(title: str, time_label: str, place: str) -> tuple[str, str, str]:
    values = {"title": title.strip(), "time_label": time_label.strip(), "place": place.strip()}
    if not values["title"]:
        raise ConferenceRefused("title_required")
    for setting, value in values.items():
        if _CONTROL.search(value) or len(value) > LIMITS[setting]:
            raise ConferenceRefused("text_invalid", setting=setting, limit=LIMITS[setting])
    return values["title"], values["time_label"], values["place"]


def create_conference(
    session: Session,
    *,
    organisation_id: int,
    title: str,
    held_on: date,
    place: str = "",
    time_label: str = "",
    description: str = "",
    created_by: str,
    now: datetime,
) -> Conference:
    title, time_label, place = _clean(title, time_label, place)
    conference = Conference(
        organisation_id=organisation_id,
        title=title,
        held_on=held_on,
        time_label=time_label,
        place=place,
        description=description.strip(),
        survey_code=new_survey_code(session),
        survey_opens_at=None,
        survey_closes_at=None,
        created_at=now,
        created_by=created_by,
    )
    session.add(conference)
    session.flush()
    return conference


def edit_conference(
    session: Session,
    *,
    conference: Conference,
    title: str,
    held_on: date,
    place: str = "",
    time_label: str = "",
    description: str = "",
) -> Conference:
    conference.title, conference.time_label, conference.place = _clean(title, time_label, place)
    conference.held_on = held_on
    conference.description = description.strip()
    session.flush()
    return conference


def conference_of(session: Session, *, organisation_id: int, conference_id: int) -> Conference:
    conference = session.get(Conference, conference_id)
    if conference is None or conference.organisation_id != organisation_id:
        raise ConferenceRefused("unknown_conference", conference_id=conference_id)
    return conference


def list_conferences(session: Session, *, organisation_id: int) -> Sequence[Conference]:
    return session.scalars(
        select(Conference)
        .where(Conference.organisation_id == organisation_id)
        .order_by(Conference.held_on.desc(), Conference.id.desc())
    ).all()
