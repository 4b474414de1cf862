"""Imports every table so that ``Base.metadata`` is complete for Alembic and for tests."""

from notifications.models import OutboxMessage
from workflow.accounts import ApiToken, PasswordResetToken, User
from workflow.catalogue.archive import ArchivedRecord
from workflow.catalogue.models import (
    Concept,
    Contact,
    Department,
    Field,
    Goal,
    Measure,
    Organisation,
    SteeringGroup,
    SteeringMeeting,
    SteeringMember,
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
from workflow.forms.models import FormAttempt, FormDraft
from workflow.forms.tokens import FormToken
from workflow.indicators.models import DataRequest, Indicator, IndicatorValue

# One line per feature module that adds tables; keep __all__ in step.
__all__ = [
    "ApiToken",
    "ArchivedRecord",
    "AuditEvent",
    "Base",
    "Concept",
    "Contact",
    "Cycle",
    "DataRequest",
    "Department",
    "Field",
    "FormAttempt",
    "FormDraft",
    "FormToken",
    "Goal",
    "Indicator",
    "IndicatorValue",
    "Interview",
    "Measure",
    "MeasureCycle",
    "Organisation",
    "OutboxMessage",
    "PasswordResetToken",
    "Review",
    "SteeringGroup",
    "SteeringMeeting",
    "SteeringMember",
    "TargetAgreement",
    "User",
]
