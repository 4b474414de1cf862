"""Imports every table so that ``Base.metadata`` is complete for Alembic and for tests."""

from notifications.bounces.models import AddressBounce
from notifications.models import OutboxMessage
from workflow.accounts import ApiToken, PasswordResetToken, User
from workflow.bodies.models import Body, BodyField, BodyMember, CompositionRule, Meeting
from workflow.catalogue.archive import ArchivedRecord
from workflow.catalogue.models import (
    Concept,
    Contact,
    Department,
    Field,
    Goal,
    Measure,
    Organisation,
)
from workflow.conference.models import (
    Actor,
    ActorActivity,
    ActorConsent,
    ActorToken,
    Conference,
    ConferenceInvitation,
    ConferenceQuestion,
    SurveyAnswer,
    SurveyResponse,
)
from workflow.cycles.models import (
    AuditEvent,
    Cycle,
    Interview,
    MeasureCycle,
    Review,
    TargetAgreement,
)
from workflow.db import Base
from workflow.decisions.models import Decision
from workflow.forms.models import Delegation, FormAttempt, FormDraft
from workflow.forms.tokens import FormToken
from workflow.indicators.models import DataRequest, Indicator, IndicatorDimension, IndicatorValue
from workflow.meetings.models import AgendaItem, MeetingAttendance, MeetingGuest
from workflow.milestones.models import Milestone
from workflow.monitoring.models import StatisticsStatement
from workflow.reports.council_models import CouncilFieldText, CouncilPaper
from workflow.sessions import UserSession
from workflow.status_checks.models import StatusCheck, StatusCheckItem, StatusCheckRequest

# One line per feature module that adds tables; keep __all__ in step.
__all__ = [
    "Actor",
    "ActorActivity",
    "ActorConsent",
    "ActorToken",
    "AddressBounce",
    "AgendaItem",
    "ApiToken",
    "ArchivedRecord",
    "AuditEvent",
    "Base",
    "Body",
    "BodyField",
    "BodyMember",
    "CompositionRule",
    "Concept",
    "Conference",
    "ConferenceInvitation",
    "ConferenceQuestion",
    "Contact",
    "CouncilFieldText",
    "CouncilPaper",
    "Cycle",
    "DataRequest",
    "Decision",
    "Delegation",
    "Department",
    "Field",
    "FormAttempt",
    "FormDraft",
    "FormToken",
    "Goal",
    "Indicator",
    "IndicatorDimension",
    "IndicatorValue",
    "Interview",
    "Measure",
    "MeasureCycle",
    "Meeting",
    "MeetingAttendance",
    "MeetingGuest",
    "Milestone",
    "Organisation",
    "OutboxMessage",
    "PasswordResetToken",
    "Review",
    "StatisticsStatement",
    "StatusCheck",
    "StatusCheckItem",
    "StatusCheckRequest",
    "SurveyAnswer",
    "SurveyResponse",
    "TargetAgreement",
    "User",
    "UserSession",
]
