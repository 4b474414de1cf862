"""Bodies and members (issue 11, item 2): every rule of the service, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.body_text import error_text, shortfall_text
from notifications.digest import DigestReport, build_digests
from notifications.models import OutboxMessage
from tests import factories
from tests.test_sweep import _at, sweep
from tests.test_sweep import seed as sweep_seed
from workflow.accounts import Role, add_or_update_user
from workflow.bodies import members, queries, service
from workflow.bodies.composition import Shortfall, shortfalls
from workflow.bodies.errors import BodyError
from workflow.bodies.models import Body, BodyMember
from workflow.catalogue.models import Field, Organisation
from workflow.clock import FrozenClock
from workflow.db import unit_of_work
from workflow.runtime import Runtime

TODAY = date(2026, 3, 2)


def _refused(code: str, action: Callable[[], Any]) -> BodyError:
    with pytest.raises(BodyError) as caught:
        action()
    assert caught.value.code == code, caught.value
    return caught.value


def _org(s: Session, slug: str = "teststadt") -> Organisation:
    return factories.organisation(s, slug=slug)


def _body(s: Session, org: Organisation, name: str = "Steuerungsgruppe", **kw: Any) -> Body:
    return service.create_body(
        session=s, organisation_id=org.id, name=name, kind=kw.pop("kind", "steering_group"), **kw
    )


def _member(s: Session, body: Body, email: str, **kw: Any) -> BodyMember:
    return members.add_member(
        session=s,
        body=body,
        name=kw.pop("name", email.split("@")[0]),
        email=email,
        today=TODAY,
        **kw,
    )


# --- bodies ---------------------------------------------------------------------------------


def test_a_body_gets_the_defaults_of_its_kind(rt: Runtime) -> None:
    with unit_of_work(rt.sessions) as s:
        org = _org(s)
        steering = _body(s, org)
        advisory = _body(s, org, "Begleitgremium", kind="advisory_board")
        other = _body(s, org, "Runder Tisch", kind="other", digest_cadence="on_change")
        got = [
            (b.kind, b.scope, b.digest_cadence, b.meetings_per_year)
            for b in (steering, advisory, other)
        ]
    assert got == [
        ("steering_group", "all", "weekly", 2),
        ("advisory_board", "all", "monthly", 4),
        ("other", "all", "on_change", 2),
    ]


def test_a_name_is_unique_within_one_organisation_only(rt: Runtime) -> None:
    with unit_of_work(rt.sessions) as s:
        first, second = _org(s, "erste"), _org(s, "zweite")
        _body(s, first, "Steuerungsgruppe")
        _refused("body_name_taken", lambda: _body(s, first, " steuerungsgruppe ", kind="other"))
        _body(s, second, "Steuerungsgruppe")  # the other organisation may use the name
        renamed = _body(s, first, "Begleitgremium", kind="advisory_board")
        _refused(
            "body_name_taken",
            lambda: service.update_body(session=s, body=renamed, name="STEUERUNGSGRUPPE"),
        )
        _refused("body_name_invalid", lambda: _body(s, first, "   "))
        _refused("body_name_invalid", lambda: _body(s, first, "x" * 201))


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"kind": "stammtisch"}, "unknown_kind"),
        ({"scope": "everything"}, "unknown_scope"),
        ({"digest_cadence": "daily"}, "unknown_cadence"),
        ({"meetings_per_year": 53}, "meetings_out_of_range"),
        ({"meetings_per_year": -1}, "meetings_out_of_range"),
        ({"rules": {"religion": 1}}, "unknown_represents"),
        ({"rules": {"civil_society": 0}}, "rule_minimum_out_of_range"),
        ({"rules": {"civil_society": 100}}, "rule_minimum_out_of_range"),
        ({"scope": "fields"}, "fields_required"),
    ],
)
def test_a_body_refuses_what_is_not_provided_for(
    rt: Runtime, changes: dict[str, Any], code: str
) -> None:
    with unit_of_work(rt.sessions) as s:
        org = _org(s)
        kw = {"kind": "steering_group", **changes}
        _refused(code, lambda: _body(s, org, **kw))
        body = _body(s, org, "Arbeitsgruppe Sprache", kind="working_group")
        patch = {k: v for k, v in changes.items() if k != "kind"} or {"kind": changes["kind"]}
        _refused(code, lambda: service.update_body(session=s, body=body, **patch))


def test_scope_lists_own_fields_only_and_forgets_them_for_another_scope(rt: Runtime) -> None:
    with unit_of_work(rt.sessions) as s:
        org, stranger = _org(s, "eigene"), _org(s, "fremde")
        mine = [Field(organisation_id=org.id, code=c, name=c) for c in ("A", "B")]
        theirs = Field(organisation_id=stranger.id, code="A", name="A")
        s.add_all([*mine, theirs])
        s.flush()
        _refused(
            "field_not_found",
            lambda: _body(s, org, scope="fields", field_ids=[mine[0].id, theirs.id]),
        )
        body = _body(s, org, scope="fields", field_ids=[mine[1].id, mine[0].id, mine[0].id])
        assert queries.field_ids_of(s, body_id=body.id) == sorted(f.id for f in mine)
        service.update_body(session=s, body=body, scope="indicators")
        assert queries.field_ids_of(s, body_id=body.id) == []
        service.update_body(session=s, body=body, scope="fields", field_ids=[mine[0].id])
        assert queries.field_ids_of(s, body_id=body.id) == [mine[0].id]


def test_a_body_is_found_by_name_or_id_in_its_own_organisation_only(rt: Runtime) -> None:
    with unit_of_work(rt.sessions) as s:
        org, stranger = _org(s, "eigene"), _org(s, "fremde")
        body = _body(s, org, "Begleitgremium Integration", kind="advisory_board")
        foreign = _body(s, stranger, "Lenkungsgruppe", kind="management_group")
        assert (
            queries.find_body(s, organisation_id=org.id, ref="begleitgremium integration") is body
        )
        assert queries.find_body(s, organisation_id=org.id, ref=str(body.id)) is body
        _refused(
            "body_not_found",
            lambda: queries.find_body(s, organisation_id=org.id, ref=str(foreign.id)),
        )
        _refused(
            "body_not_found",
            lambda: queries.get_body(s, organisation_id=org.id, body_id=foreign.id),
        )
        _refused(
            "body_not_found",
            lambda: queries.find_body(s, organisation_id=org.id, ref="Lenkungsgruppe"),
        )


# --- members --------------------------------------------------------------------------------


def test_a_member_is_stored_normalised_from_today_and_refused_when_invalid(rt: Runtime) -> None:
    with unit_of_work(rt.sessions) as s:
        body = _body(s, _org(s))
        member = _member(
            s,
            body,
            "  Henrike.Sommer@Stadt.Example.org ",
            name=" Dr. Henrike Sommer ",
            language="en",
            represents="council_group",
            represents_name="Fraktion Die Grünen",
            role="chair",
        )
        assert (member.email, member.name, member.joined_on, member.left_on) == (
            "henrike.sommer@stadt.example.org",
            "Dr. Henrike Sommer",
            TODAY,
            None,
        )
        assert (member.language, member.represents, member.role) == ("en", "council_group", "chair")
        _refused("member_email_invalid", lambda: _member(s, body, "keine-adresse"))
        _refused("member_name_invalid", lambda: _member(s, body, "a@b.example.org", name=" "))
        _refused("unknown_language", lambda: _member(s, body, "a@b.example.org", language="fr"))
        _refused(
            "unknown_represents", lambda: _member(s, body, "a@b.example.org", represents="herkunft")
        )
        _refused("unknown_role", lambda: _member(s, body, "a@b.example.org", role="boss"))
        _refused(
            "member_already_current", lambda: _member(s, body, "HENRIKE.SOMMER@stadt.example.org")
        )


def test_no_special_category_data_can_be_stored_about_a_member() -> None:
    # Whom a member represents is a role in the body; origin, religion and the like have no
    # column, so nothing can put them there.
    columns = set(BodyMember.__table__.columns.keys())
    assert columns == {
        "id",
        "body_id",
        "name",
        "email",
        "language",
        "salutation",  # Frau, Herr or none: how emails greet them, as they were entered
        "represents",
        "represents_name",
        "represents_organisation_id",  # the town a member speaks for: a role, not a trait
        "role",
        "deputy_of_id",
        "user_id",
        "joined_on",
        "left_on",
        # What the member's digests told them: bookkeeping, nothing about the person.
        "digest_period",
        "last_digest_at",
        "digest_reported",
    }


def test_ending_keeps_the_row_and_a_member_may_return_later(rt: Runtime) -> None:
    with unit_of_work(rt.sessions) as s:
        body = _body(s, _org(s))
        first = _member(s, body, "murat.yilmaz@stadt.example.org", joined_on=date(2025, 1, 1))
        _refused(
            "end_before_join",
            lambda: members.end_membership(session=s, member=first, on=date(2024, 12, 31)),
        )
        members.end_membership(session=s, member=first, on=date(2026, 2, 1))
        _refused(
            "member_already_ended",
            lambda: members.end_membership(session=s, member=first, on=TODAY),
        )
        _refused(
            "member_already_ended",
            lambda: members.update_member(session=s, body=body, member=first, name="X"),
        )
        again = _member(s, body, "murat.yilmaz@stadt.example.org")
        body_id = body.id
    with rt.sessions() as s:
        rows = s.scalars(
            select(BodyMember).where(BodyMember.body_id == body_id).order_by(BodyMember.id)
        ).all()
        assert [(m.joined_on, m.left_on) for m in rows] == [
            (date(2025, 1, 1), date(2026, 2, 1)),
            (TODAY, None),
        ]
        assert [m.id for m in queries.current_members(s, body_id=body_id, day=TODAY)] == [again.id]
        # On the day before leaving the first membership was current, the second not yet.
        assert [
            m.id for m in queries.current_members(s, body_id=body_id, day=date(2026, 1, 31))
        ] == [first.id]
        assert queries.current_members(s, body_id=body_id, day=date(2026, 2, 1)) == []


def test_a_membership_ending_in_the_future_is_current_until_then(rt: Runtime) -> None:
    with unit_of_work(rt.sessions) as s:
        body = _body(s, _org(s))
        member = _member(s, body, "claudia.weber@stadt.example.org", joined_on=None)
        later = _member(s, body, "jonas.becker@stadt.example.org", joined_on=date(2026, 4, 1))
        members.end_membership(session=s, member=member, on=date(2026, 6, 30))
        summary = queries.summary(s, body=body, day=TODAY)
        assert [m.id for m in summary.current] == [member.id]
        assert [m.id for m in summary.upcoming] == [later.id]
        assert summary.former == []
        after = queries.summary(s, body=body, day=date(2026, 7, 1))
        assert [m.id for m in after.current] == [later.id]
        assert [m.id for m in after.former] == [member.id]


def test_deputies_stand_in_for_a_current_member_of_the_same_body(rt: Runtime) -> None:
    with unit_of_work(rt.sessions) as s:
        org = _org(s)
        body, other = _body(s, org), _body(s, org, "Begleitgremium", kind="advisory_board")
        chair = _member(s, body, "sommer@stadt.example.org", role="chair")
        elsewhere = _member(s, other, "weber@stadt.example.org")
        _refused(
            "deputy_needs_member", lambda: _member(s, body, "d1@stadt.example.org", role="deputy")
        )
        _refused(
            "deputy_of_without_deputy_role",
            lambda: _member(s, body, "d1@stadt.example.org", deputy_of=chair.id),
        )
        _refused(
            "deputy_of_not_found",
            lambda: _member(s, body, "d1@stadt.example.org", role="deputy", deputy_of=elsewhere.id),
        )
        _refused(
            "deputy_of_not_found",
            lambda: _member(
                s, body, "d1@stadt.example.org", role="deputy", deputy_of="nobody@stadt.example.org"
            ),
        )
        deputy = _member(
            s, body, "d1@stadt.example.org", role="deputy", deputy_of="SOMMER@stadt.example.org"
        )
        assert deputy.deputy_of_id == chair.id
        _refused(
            "deputy_of_deputy",
            lambda: _member(s, body, "d2@stadt.example.org", role="deputy", deputy_of=deputy.id),
        )
        _refused(
            "deputy_of_self",
            lambda: members.update_member(
                session=s, body=body, member=chair, role="deputy", deputy_of=chair.id
            ),
        )
        members.update_member(session=s, body=body, member=deputy, role="member")
        assert (deputy.role, deputy.deputy_of_id) == ("member", None)
        members.end_membership(session=s, member=chair, on=TODAY)
        _refused(
            "deputy_of_not_found",
            lambda: _member(s, body, "d3@stadt.example.org", role="deputy", deputy_of=chair.id),
        )


def test_an_account_of_the_same_organisation_is_linked(rt: Runtime, clock: FrozenClock) -> None:
    with unit_of_work(rt.sessions) as s:
        org, stranger = _org(s, "eigene"), _org(s, "fremde")
        own = add_or_update_user(
            session=s,
            organisation_id=org.id,
            email="sommer@stadt.example.org",
            role=Role.STEERING,
            password="ein langes Passwort 123",
            now=clock.now(),
        )
        foreign = add_or_update_user(
            session=s,
            organisation_id=stranger.id,
            email="yilmaz@stadt.example.org",
            role=Role.STEERING,
            password="ein langes Passwort 123",
            now=clock.now(),
        )
        body = _body(s, org)
        assert _member(s, body, "Sommer@stadt.example.org").user_id == own.id
        assert _member(s, body, "yilmaz@stadt.example.org").user_id is None
        _refused(
            "user_not_found",
            lambda: _member(s, body, "weber@stadt.example.org", user_id=foreign.id),
        )
        weber = _member(s, body, "weber@stadt.example.org", user_id=own.id)
        assert weber.user_id == own.id
        members.update_member(session=s, body=body, member=weber, user_id=None)
        assert weber.user_id is None


# --- composition ----------------------------------------------------------------------------


class Seat:
    def __init__(self, represents: str | None, role: str = "member") -> None:
        self.represents, self.role = represents, role


def test_composition_counts_current_members_but_not_deputies_or_the_unstated() -> None:
    seats = [
        Seat("civil_society"),
        Seat("civil_society", "deputy"),
        Seat(None),
        Seat("administration", "chair"),
    ]
    rules = {"civil_society": 2, "administration": 1, "town": 1}
    assert shortfalls(rules, seats) == [Shortfall("civil_society", 2, 1), Shortfall("town", 1, 0)]
    assert shortfalls({"civil_society": 1}, seats) == []


def test_a_shortfall_reads_as_a_sentence_with_real_plurals() -> None:
    assert (
        shortfall_text(Shortfall("civil_society", 2, 1), "de")
        == "mindestens 2 Mitglieder aus der Zivilgesellschaft – derzeit 1"
    )
    assert (
        shortfall_text(Shortfall("town", 1, 0), "de")
        == "mindestens 1 Mitglied aus den kreisangehörigen Kommunen – derzeit 0"
    )
    assert (
        shortfall_text(Shortfall("civil_society", 2, 1), "en")
        == "at least 2 members from civil society – currently 1"
    )


def test_the_summary_shows_where_the_composition_falls_short(rt: Runtime) -> None:
    with unit_of_work(rt.sessions) as s:
        body = _body(s, _org(s), rules={"civil_society": 2, "council_group": 1})
        _member(s, body, "a@stadt.example.org", represents="civil_society")
        _member(s, body, "b@stadt.example.org", represents="council_group")
        _member(s, body, "c@stadt.example.org")
        ended = _member(s, body, "d@stadt.example.org", represents="civil_society")
        members.end_membership(session=s, member=ended, on=TODAY)
        summary = queries.summary(s, body=body, day=TODAY)
        assert summary.shortfalls == [Shortfall("civil_society", 2, 1)]
        assert summary.unstated == 1
        _member(s, body, "e@stadt.example.org", represents="civil_society")
        assert queries.summary(s, body=body, day=TODAY).shortfalls == []


def test_a_refusal_names_its_parameters_in_german() -> None:
    text = error_text(BodyError("member_already_ended", email="a@b.de", on="2026-02-01"), "de")
    assert text == "Die Mitgliedschaft von a@b.de ist bereits zum 01.02.2026 beendet."
    assert "steering_group (Steuerungsgruppe)" in error_text(
        BodyError("unknown_kind", value="x", allowed="steering_group, other"), "de"
    )


# --- digests: for the current members of every body ---------------------------------------


def test_digests_reach_current_members_of_every_body(rt: Runtime, clock: FrozenClock) -> None:
    sweep_seed(rt, clock, measures=1)  # a body "Steuerungsgruppe" with Dr. Sommer
    with unit_of_work(rt.sessions) as s:
        steering = s.scalars(select(Body)).one()
        org = s.get(Organisation, steering.organisation_id)
        assert org is not None
        _member(s, steering, "gone@stadt.example.org", joined_on=None)
        gone = s.scalars(
            select(BodyMember).where(BodyMember.email == "gone@stadt.example.org")
        ).one()
        members.end_membership(session=s, member=gone, on=date(2026, 4, 1))
        advisory = _body(s, org, "Begleitgremium", kind="advisory_board")
        _member(s, advisory, "beirat@stadt.example.org", joined_on=None)
    for day in (_at(2026, 3, 30), _at(2026, 4, 10), _at(2026, 4, 13), _at(2026, 5, 4)):
        sweep(rt, clock, day)
    # Every kind of body gets its digest (issue 11, item 6); a member who left gets none.
    assert build_digests(sessions=rt.sessions, clock=clock) == DigestReport(sent=2)
    with rt.sessions() as s:
        recipients = s.scalars(
            select(OutboxMessage.recipient_email)
            .where(OutboxMessage.kind == "digest")
            .order_by(OutboxMessage.id)
        ).all()
        assert recipients == ["sommer@stadt.example.org", "beirat@stadt.example.org"]
        assert s.scalar(select(func.count()).select_from(Body)) == 2
