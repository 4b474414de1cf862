"""Request and response shapes of /api/v1/bodies; validation only, no database access.

Codes (kind, scope, cadence, represents, role) are the enums of workflow/bodies/models.py, so
the OpenAPI document lists every allowed value; the German label travels alongside.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.routes.schemas import Email, Id, NoNul
from workflow.bodies.models import BodyKind, BodyScope, DigestCadence, MemberRole, Represents

Name = Annotated[NoNul, StringConstraints(min_length=1, max_length=200)]
Label = Annotated[NoNul, StringConstraints(max_length=200)]
Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2999, 12, 31))]
Language = Annotated[str, Field(pattern="^(de|en)$", description="de oder en")]
# How emails greet the member (workflow/salutation.py); "" for none.
# A town of the body's district, by its short name (issue 15); the service checks the rest.
TownSlug = Annotated[
    NoNul,
    StringConstraints(min_length=1, max_length=40),
    Field(description="Kurzname einer Kommune des Kreises, dem das Gremium gehört"),
]
Salutation = Annotated[
    Literal["", "frau", "herr"], Field(description="frau, herr oder leer (keine Angabe)")
]


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    represents: Represents
    minimum: int = Field(ge=1, le=99)


class RuleOut(RuleIn):
    text: str = Field(description="die Vorgabe in Worten, auf Deutsch")


class ShortfallOut(BaseModel):
    represents: Represents
    minimum: int
    current: int
    text: str = Field(
        description="z. B. „mindestens 2 Mitglieder aus der Zivilgesellschaft – derzeit 1“"
    )


class BodyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    kind: BodyKind
    scope: BodyScope = BodyScope.ALL_FIELDS
    field_ids: list[Id] = Field(default=[], max_length=100, description="nur bei scope=fields")
    digest_cadence: DigestCadence | None = Field(
        default=None, description="leer: weekly für eine Steuerungsgruppe, sonst monthly"
    )
    meetings_per_year: int | None = Field(default=None, ge=0, le=52)
    rules: list[RuleIn] = Field(default=[], max_length=len(Represents))


class BodyPatch(BaseModel):
    """Only what changes; ``rules`` and ``field_ids`` replace the whole list."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    kind: BodyKind | None = None
    scope: BodyScope | None = None
    field_ids: list[Id] | None = Field(default=None, max_length=100)
    digest_cadence: DigestCadence | None = None
    meetings_per_year: int | None = Field(default=None, ge=0, le=52)
    rules: list[RuleIn] | None = Field(default=None, max_length=len(Represents))


class BodyOut(BaseModel):
    id: int
    name: str
    kind: BodyKind
    kind_label: str
    scope: BodyScope
    field_ids: list[int]
    digest_cadence: DigestCadence
    meetings_per_year: int
    rules: list[RuleOut]
    current_members: int
    shortfalls: list[ShortfallOut] = Field(description="Vorgaben, die derzeit nicht erfüllt sind")


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    email: Email
    language: Language = "de"
    salutation: Salutation = ""
    represents: Represents | None = None
    represents_name: Label = ""
    role: MemberRole = MemberRole.MEMBER
    deputy_of_id: Id | None = Field(default=None, description="nur bei role=deputy")
    user_id: Id | None = Field(
        default=None, description="leer: das Konto mit derselben Adresse, falls es eines gibt"
    )
    joined_on: Day | None = Field(default=None, description="leer: heute")
    represents_town: TownSlug | None = Field(
        default=None,
        description="nur in Gremien eines Kreises: die vertretene Kommune; setzt represents=town",
    )


class MemberPatch(BaseModel):
    """Only what changes; ``null`` clears ``represents``, ``deputy_of_id``, ``user_id`` or
    ``represents_town``."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    language: Language | None = None
    salutation: Salutation | None = None
    represents: Represents | None = None
    represents_name: Label | None = None
    role: MemberRole | None = None
    deputy_of_id: Id | None = None
    user_id: Id | None = None
    represents_town: TownSlug | None = None


class MemberEnd(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: Day | None = Field(
        default=None, description="ab diesem Tag kein Mitglied mehr; leer: heute"
    )


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    body_id: int
    name: str
    email: str
    language: str
    salutation: str
    represents: Represents | None
    represents_name: str
    represents_town: str | None = Field(description="Kurzname der vertretenen Kommune")
    role: MemberRole
    deputy_of_id: int | None
    user_id: int | None
    joined_on: date | None
    left_on: date | None
    current: bool
