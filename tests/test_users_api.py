"""Creating an account through the API tells nothing about addresses of other organisations."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from tests.dashboard_seed import EMAILS, PASSWORD, bearer, seed
from workflow.accounts import Role, User, add_or_update_user
from workflow.catalogue.service import ensure_organisation
from workflow.db import unit_of_work
from workflow.runtime import Runtime

ELSEWHERE = "leitung@nachbarstadt.example.org"


def _body(email: str) -> dict[str, str]:
    return {"email": email, "name": "Frau Beispiel", "role": "coordinator", "password": PASSWORD}


def test_an_address_of_another_organisation_is_answered_as_a_new_one(rt: Runtime) -> None:
    s = seed(rt)
    with unit_of_work(rt.sessions) as session:
        other = ensure_organisation(session, slug="nachbarstadt", name="Nachbarstadt")
        session.flush()
        theirs = add_or_update_user(
            session=session,
            organisation_id=other.id,
            email=ELSEWHERE,
            role=Role.ADMIN,
            password="das Passwort der Nachbarn",
            now=rt.clock.now(),
        )
        before = (theirs.id, theirs.organisation_id, theirs.role, theirs.password_hash, theirs.name)
    client = TestClient(create_app())
    admin = bearer(s, Role.ADMIN)

    new = client.post("/api/v1/users", json=_body("neu@musterstadt.example.org"), headers=admin)
    taken = client.post("/api/v1/users", json=_body(ELSEWHERE), headers=admin)
    assert new.status_code == taken.status_code == 202, taken.text
    assert set(new.json()) == set(taken.json())
    assert taken.json() == {**new.json(), "email": ELSEWHERE}
    assert str(before[0]) not in taken.text.replace(ELSEWHERE, "")

    with rt.sessions() as session:
        row = session.scalars(select(User).where(User.email == ELSEWHERE)).one()
        assert (row.id, row.organisation_id, row.role, row.password_hash, row.name) == before
        mine = session.scalar(
            select(func.count()).select_from(User).where(User.organisation_id == s.organisation_id)
        )
    assert mine == len(EMAILS) + 1  # the new one only
    listed = {u["email"] for u in client.get("/api/v1/users", headers=admin).json()}
    assert "neu@musterstadt.example.org" in listed and ELSEWHERE not in listed

    # An address of one's own organisation is no secret: that stays a conflict.
    own = client.post("/api/v1/users", json=_body(EMAILS[Role.STEERING]), headers=admin)
    assert own.status_code == 409 and own.json()["error"]["code"] == "duplicate"
