"""``zielflow demo --district``: a Landkreis with three towns in one installation.

Modelled on seed 003 (a Landkreis whose Steuerungsgruppe works with its towns: three large
towns sit in it and one member speaks for the smaller municipalities) and seed 002 (a
town's goals serve the district's). Each organisation gets the demo's catalogue under its
own mail domain (workflow/demo_catalogues.py), its bodies, this year's cycle and a
coordinator account; the third town declines to share its data with the district. All
names and addresses are fictional. Running it again adds only what is missing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import runtime
from workflow.accounts import Role, add_or_update_user
from workflow.bodies.members import add_member, set_represented_town
from workflow.bodies.models import Body, BodyKind, BodyMember, Represents
from workflow.bodies.queries import open_membership
from workflow.catalogue.models import Goal, Organisation, OrganisationKind
from workflow.catalogue.service import ensure_organisation, import_catalogue
from workflow.cli_text import say
from workflow.cycles.calendar import calendar_of
from workflow.cycles.service import open_cycle
from workflow.db import unit_of_work
from workflow.demo_catalogues import rehomed
from workflow.demo_data import ensure_people
from workflow.indicators.importer import import_indicators
from workflow.migrate import upgrade
from workflow.reports.german import code_key

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
EXAMPLE_CATALOGUE = EXAMPLES / "catalogue.csv"
EXAMPLE_INDICATORS = EXAMPLES / "indicators.csv"
LINKED_GOALS = 2  # how many of each town's goals serve the district's goal of the same code
SMALLER_MUNICIPALITIES = "kreisangehörige Gemeinden"


@dataclass(frozen=True)
class Place:
    slug: str
    name: str
    # The town's representative in the district's Steuerungsgruppe: name, local part.
    representative: tuple[str, str] = ("", "")
    shares_with_district: bool = True

    @property
    def domain(self) -> str:
        return f"{self.slug}.example.org"

    @property
    def login(self) -> str:
        return f"koordination@{self.domain}"


DISTRICT = Place("landkreis-seeland", "Landkreis Seeland")
TOWNS: tuple[Place, ...] = (
    Place("seestadt", "Stadt Seestadt", ("Katrin Roth", "katrin.roth")),
    Place("bergheim", "Stadt Bergheim", ("Stefan Albers", "stefan.albers")),
    # Declines: the district's reports show it as counts only.
    Place("talhausen", "Stadt Talhausen", ("Miriam Hahn", "miriam.hahn"), False),
)
# Speaks for the smaller municipalities, which have no organisation of their own here.
SMALLER_MEMBER = ("Thomas Berger", "thomas.berger@gemeinde-uferdorf.example.org")


@dataclass(frozen=True)
class DemoAccount:
    organisation: str
    login: str
    password: str


def prepare_district(catalogue: Path | None, today: datetime) -> list[DemoAccount]:
    """The district and its towns with catalogues, bodies, this year's cycles, goal links
    and a coordinator each; returns the accounts, the district's first."""
    rt = runtime.current()
    upgrade(rt.settings.database_url)
    source = catalogue or EXAMPLE_CATALOGUE
    copies = rt.settings.var_dir / "demo" / "catalogues"
    accounts: list[DemoAccount] = []
    with unit_of_work(rt.sessions) as session:
        district = _organisation(session, DISTRICT, OrganisationKind.DISTRICT, None)
        towns = [_organisation(session, town, OrganisationKind.TOWN, district) for town in TOWNS]
        for place, org in zip((DISTRICT, *TOWNS), (district, *towns), strict=True):
            _fill(session, org, rehomed(source, place.domain, copies / f"{place.slug}.csv"), source)
            open_cycle(
                session=session,
                clock=rt.clock,
                organisation_id=org.id,
                year=today.year,
                actor="demo",
            )
            accounts.append(_account(session, org, place))
        for town in towns:
            _link_goals(session, town, district)
        _seat_representatives(session, district, towns)
    return accounts


def account_lines(accounts: list[DemoAccount]) -> list[str]:
    """The banner's sign-in lines, one organisation after the other."""
    lines: list[str] = []
    for account in accounts:
        lines += [
            f"  {account.organisation}",
            say("demo.login", login=account.login, password=account.password),
        ]
    return lines


def _organisation(
    session: Session, place: Place, kind: OrganisationKind, parent: Organisation | None
) -> Organisation:
    settings = runtime.current().settings
    org = ensure_organisation(
        session,
        slug=place.slug,
        name=place.name,
        state=settings.state,
        timezone=settings.timezone,
        kind=kind,
    )
    org.parent_id = parent.id if parent else None
    org.shares_with_district = place.shares_with_district
    return org


def _fill(session: Session, org: Organisation, catalogue: Path, source: Path) -> None:
    if catalogue.is_file():
        import_catalogue(session=session, organisation_id=org.id, path=catalogue)
    ensure_people(session, org)
    if source.resolve() == EXAMPLE_CATALOGUE.resolve():
        # The example indicators name the example catalogue's codes, which every copy keeps.
        now = runtime.current().clock.now()
        import_indicators(
            session=session,
            organisation_id=org.id,
            path=EXAMPLE_INDICATORS,
            now=now,
            today=calendar_of(org).local_date(now),
        )


def _account(session: Session, org: Organisation, place: Place) -> DemoAccount:
    password = secrets.token_urlsafe(12)
    add_or_update_user(
        session=session,
        organisation_id=org.id,
        email=place.login,
        role=Role.COORDINATOR,
        password=password,
        now=runtime.current().clock.now(),
        name=f"Koordination {org.name}",
    )
    return DemoAccount(org.name, place.login, password)


def _link_goals(session: Session, town: Organisation, district: Organisation) -> None:
    """The town's first goals serve the district's goals of the same code (seed 002)."""
    served = {
        g.code: g for g in session.scalars(select(Goal).where(Goal.organisation_id == district.id))
    }
    own = session.scalars(select(Goal).where(Goal.organisation_id == town.id)).all()
    shared = sorted((g for g in own if g.code in served), key=lambda g: code_key(g.code))
    for goal in shared[:LINKED_GOALS]:
        goal.district_goal_id = served[goal.code].id


def _seat_representatives(
    session: Session, district: Organisation, towns: list[Organisation]
) -> None:
    """The district's Steuerungsgruppe gains a member for each town and one for the smaller
    municipalities (seed 003: "3 Vertretungen der drei großen Kreisstädte, 1 Vertretung der
    kreisangehörigen Gemeinden")."""
    group = session.scalars(
        select(Body)
        .where(Body.organisation_id == district.id, Body.kind == BodyKind.STEERING_GROUP.value)
        .order_by(Body.id)
    ).first()
    if group is None:
        return
    seats: list[tuple[str, str, str, str | None]] = [
        (place.representative[0], f"{place.representative[1]}@{place.domain}", town.name, town.slug)
        for place, town in zip(TOWNS, towns, strict=True)
    ]
    seats.append((*SMALLER_MEMBER, SMALLER_MUNICIPALITIES, None))
    for name, email, speaks_for, town_slug in seats:
        if open_membership(session, body=group, email=email) is not None:
            continue
        member: BodyMember = add_member(
            session=session,
            body=group,
            name=name,
            email=email,
            represents=Represents.TOWN.value,
            represents_name=speaks_for,
            joined_on=None,
            today=date.min,
        )
        # The service checks that the town is one of this district's.
        set_represented_town(session=session, body=group, member=member, town=town_slug)
    session.flush()
