"""``zielflow demo --district``: a district with three towns under it, each with its
catalogue and an open cycle; the district's Steuerungsgruppe seats the towns and the smaller
municipalities; town goals serve district goals; one town declines to share; every
coordinator can sign in. Preparing again adds nothing (on SQLite: the database is not that
test's subject)."""

from __future__ import annotations

from sqlalchemy import func, select

from workflow.accounts import User
from workflow.bodies.models import Body, BodyMember
from workflow.catalogue.models import Goal, Measure, Organisation
from workflow.clock import FrozenClock
from workflow.cycles.models import Cycle
from workflow.demo_district import account_lines, prepare_district
from workflow.runtime import Runtime


def _rows(rt: Runtime) -> dict[str, int]:
    with rt.sessions() as s:
        return {
            t.__tablename__: int(s.scalar(select(func.count()).select_from(t)) or 0)
            for t in (Organisation, Goal, Measure, Body, BodyMember, Cycle, User)
        }


def test_district_demo_builds_a_district_with_three_towns(rt: Runtime, clock: FrozenClock) -> None:
    accounts = prepare_district(None, clock.now())
    with rt.sessions() as s:
        orgs = {o.slug: o for o in s.scalars(select(Organisation))}
        [district] = [o for o in orgs.values() if o.kind == "district"]
        towns = {o.id: o for o in orgs.values() if o.kind == "town"}
        assert len(orgs) == 4 and len(towns) == 3
        assert {t.parent_id for t in towns.values()} == {district.id}
        assert [t.name for t in towns.values() if not t.shares_with_district] == ["Stadt Talhausen"]
        for org in orgs.values():
            measures = s.scalar(select(func.count()).where(Measure.organisation_id == org.id))
            assert measures and measures > 0, org.slug
            assert s.scalars(
                select(Cycle).where(Cycle.organisation_id == org.id, Cycle.year == 2026)
            ).one()

        group = s.scalars(
            select(Body).where(Body.organisation_id == district.id, Body.kind == "steering_group")
        ).one()
        speakers = s.scalars(
            select(BodyMember).where(
                BodyMember.body_id == group.id, BodyMember.represents == "town"
            )
        ).all()
        assert sorted(
            (m.represents_name, m.represents_organisation_id) for m in speakers
        ) == sorted(
            [(t.name, t.id) for t in towns.values()] + [("kreisangehörige Gemeinden", None)]
        )

        district_goals = {
            g.id: g.code for g in s.scalars(select(Goal).where(Goal.organisation_id == district.id))
        }
        links = s.scalars(select(Goal).where(Goal.district_goal_id.is_not(None))).all()
        assert {g.organisation_id for g in links} == set(towns)
        assert all(district_goals[g.district_goal_id] == g.code for g in links)  # type: ignore[index]

        users = {u.email: u.organisation_id for u in s.scalars(select(User))}
    assert [users[a.login] for a in accounts] == [district.id, *towns]
    banner = "\n".join(account_lines(accounts))
    assert all(a.login in banner and a.password in banner for a in accounts)


def test_preparing_the_district_again_adds_nothing(rt_sqlite: Runtime, clock: FrozenClock) -> None:
    # The demo prepares on every start; the database is not this test's subject.
    prepare_district(None, clock.now())
    before = _rows(rt_sqlite)
    prepare_district(None, clock.now())
    assert _rows(rt_sqlite) == before
