"""The pages /gremien and /gremien/{id}, and the start page's set-up warnings, on both databases."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from tests.dashboard_seed import csrf_headers, login, seed
from workflow.accounts import Role
from workflow.bodies.models import (
    Body,
    BodyKind,
    BodyMember,
    BodyScope,
    DigestCadence,
    MemberRole,
    Represents,
)
from workflow.bodies.service import add_member, create_body, end_membership
from workflow.catalogue.models import Contact, Department
from workflow.catalogue.service import ensure_organisation
from workflow.db import unit_of_work
from workflow.runtime import Runtime


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _coordinator(rt: Runtime) -> TestClient:
    seed(rt)
    client = TestClient(create_app())
    login(client, Role.COORDINATOR)
    return client


def _org_id(rt: Runtime) -> int:
    with rt.sessions() as s:
        org_id = s.scalars(select(Department.organisation_id)).first()
    assert org_id is not None
    return org_id


def _form(client: TestClient, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf_headers(client)["X-CSRF-Token"], **fields}


def test_a_coordinator_creates_a_body_adds_members_and_ends_one(rt: Runtime) -> None:
    client = _coordinator(rt)
    created = client.post(
        "/gremien",
        data=_form(
            client,
            name="Begleitgremium",
            kind="advisory_board",
            scope="all",
            rule_civil_society="2",
        ),
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    url = created.headers["location"]
    assert "Das Gremium ist angelegt." in client.get(url).text
    for name, email in (
        ("Ingrid Hoffmann", "ingrid@x.example.org"),
        ("Jonas Becker", "jonas@x.example.org"),
    ):
        added = client.post(
            f"{url}/mitglieder",
            data=_form(client, name=name, email=email, represents="civil_society", role="member"),
            follow_redirects=False,
        )
        assert added.status_code == 303, added.text
    page = _text(client.get(url).text)
    assert "2 Mitglieder" in page and "Die Zusammensetzung erfüllt alle Vorgaben." in page
    with rt.sessions() as s:
        jonas = s.scalars(select(BodyMember).where(BodyMember.name == "Jonas Becker")).one()
    ended = client.post(
        f"{url}/mitglieder/{jonas.id}/beenden",
        data=_form(client, on="2026-03-02"),
        follow_redirects=False,
    )
    assert ended.status_code == 303
    page = _text(client.get(url).text)
    assert "mindestens 2 Mitglieder aus der Zivilgesellschaft – derzeit 1" in page
    assert "1 Mitglied " in page
    history = page.split("Frühere Mitgliedschaften", 1)[1]
    assert "Jonas Becker" in history and "02.03.2026" in history
    listing = _text(client.get("/gremien").text)
    assert "Begleitgremium Begleitgremium 1 Mitglied" in listing
    assert "mindestens 2 Mitglieder aus der Zivilgesellschaft – derzeit 1" in listing
    english = _text(client.get(f"{url}?lang=en").text)
    assert "at least 2 members from civil society – currently 1" in english
    assert "Former memberships" in english


def test_a_refused_entry_keeps_what_was_typed_and_saves_nothing(rt: Runtime) -> None:
    client = _coordinator(rt)
    refused = client.post(
        "/gremien",
        data=_form(client, name="Arbeitsgruppe Sprache", kind="working_group", scope="fields"),
    )
    assert refused.status_code == 422
    assert "Bitte wählen Sie mindestens ein Handlungsfeld" in refused.text
    assert 'value="Arbeitsgruppe Sprache"' in refused.text
    with rt.sessions() as s:
        assert s.scalars(select(Body)).all() == []
    url = client.post(
        "/gremien", data=_form(client, name="Steuerungsgruppe", kind="steering_group")
    ).url.path
    bad = client.post(
        f"{url}/mitglieder",
        data=_form(client, name="Murat Yilmaz", email="murat@", role="member"),
    )
    assert bad.status_code == 422
    assert "„murat@“ ist keine gültige E-Mail-Adresse." in bad.text
    assert 'value="Murat Yilmaz"' in bad.text
    renamed = client.post(
        f"{url}/einstellungen",
        data=_form(client, name="Lenkungsgruppe", kind="management_group", scope="all",
                   digest_cadence="before_meeting", meetings_per_year="99"),
    )  # fmt: skip
    assert renamed.status_code == 422
    assert "zwischen 0 und 52" in renamed.text
    with rt.sessions() as s:  # the refused settings left the body as it was
        body = s.scalars(select(Body)).one()
        assert (body.name, body.kind, body.digest_cadence) == (
            "Steuerungsgruppe",
            "steering_group",
            "weekly",
        )
    saved = client.post(
        f"{url}/einstellungen",
        data=_form(client, name="Lenkungsgruppe", kind="management_group", scope="indicators",
                   digest_cadence="on_change", meetings_per_year="3"),
        follow_redirects=False,
    )  # fmt: skip
    assert saved.status_code == 303
    page = _text(client.get(url).text)
    assert "Art des Gremiums Lenkungsgruppe Zuständig für Nur Kennzahlen" in page
    assert "Nur bei Neuigkeiten" in page and "3 Sitzungen im Jahr" in page


def test_forms_need_the_csrf_token_and_steering_members_only_read(rt: Runtime) -> None:
    client = _coordinator(rt)
    no_token = client.post("/gremien", data={"name": "X", "kind": "other"})
    assert no_token.status_code == 403
    steering = TestClient(create_app())
    login(steering, Role.STEERING)
    with unit_of_work(rt.sessions) as s:
        body = create_body(
            session=s, organisation_id=_org_id(rt), name="Steuerungsgruppe", kind="steering_group"
        )
        body_id = body.id
    page = steering.get(f"/gremien/{body_id}")
    assert page.status_code == 200
    assert "Sie können die Angaben lesen" in page.text
    assert 'action="/gremien' not in page.text
    refused = steering.post(
        f"/gremien/{body_id}/mitglieder", data=_form(steering, name="A", email="a@b.example.org")
    )
    assert refused.status_code == 403


def test_another_organisations_body_page_is_not_found(rt: Runtime) -> None:
    client = _coordinator(rt)
    with unit_of_work(rt.sessions) as s:
        other = ensure_organisation(s, slug="nachbarstadt", name="Stadt Nachbarstadt")
        foreign = create_body(session=s, organisation_id=other.id, name="Fremd", kind="other")
        member = add_member(
            session=s,
            body=foreign,
            name="Fremd",
            email="f@nachbar.example.org",
            today=rt.clock.now().date(),
        )
        ids = foreign.id, member.id
    assert client.get(f"/gremien/{ids[0]}").status_code == 404
    assert "Fremd" not in client.get("/gremien").text
    for path in ("mitglieder", f"mitglieder/{ids[1]}/beenden", "einstellungen"):
        response = client.post(
            f"/gremien/{ids[0]}/{path}", data=_form(client, name="X", email="x@y.example.org")
        )
        assert response.status_code == 404, path
    with rt.sessions() as s:
        assert s.scalars(select(BodyMember.left_on)).all() == [None]


def test_the_start_page_names_what_keeps_escalations_from_anyone(rt: Runtime) -> None:
    client = _coordinator(rt)
    with unit_of_work(rt.sessions) as s:  # the example catalogue names no heads
        departments = s.scalars(select(Department.name).order_by(Department.name)).all()
    page = _text(client.get("/pipeline").text)
    assert "Vor dem nächsten Zyklus bitte klären" in page
    for name in departments:
        assert f"Für „{name}“ ist keine Leitung eingetragen" in page
    assert "Es gibt keine Steuerungsgruppe" in page
    org_id = _org_id(rt)
    with unit_of_work(rt.sessions) as s:
        for dept in s.scalars(select(Department)):
            s.add(
                Contact(
                    organisation_id=org_id,
                    department_id=dept.id,
                    name="L",
                    email=f"l{dept.id}@x.example.org",
                    is_head=True,
                )
            )
        body = create_body(
            session=s, organisation_id=org_id, name="Steuerungsgruppe", kind="steering_group"
        )
        member = add_member(
            session=s, body=body, name="S", email="s@x.example.org", today=rt.clock.now().date()
        )
        end_membership(session=s, member=member, on=rt.clock.now().date())
    page = _text(client.get("/pipeline").text)
    assert "keine Leitung" not in page and "Es gibt keine Steuerungsgruppe" not in page
    assert "Das Gremium „Steuerungsgruppe“ hat keine aktuellen Mitglieder." in page
    english = _text(client.get("/pipeline?lang=en").text)
    assert "The body “Steuerungsgruppe” has no current members." in english
    steering = TestClient(create_app())
    login(steering, Role.STEERING)
    assert "hat keine aktuellen Mitglieder" not in steering.get("/pipeline").text


def test_every_text_of_the_bodies_pages_exists_in_german_and_english() -> None:
    root = Path(__file__).resolve().parents[1] / "api"
    de = json.loads((root / "locales" / "bodies.de.json").read_text(encoding="utf-8"))
    en = json.loads((root / "locales" / "bodies.en.json").read_text(encoding="utf-8"))
    assert set(de) == set(en)
    used: set[str] = set()
    for name in ("bodies.html", "body.html"):
        text = (root / "pages" / "dashboard" / name).read_text(encoding="utf-8")
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_.0-9]+)["']""", text))
        used |= {
            f"{k}_{n}"
            for k in re.findall(r"""plural\(\s*["']([a-z_.]+)["']""", text)
            for n in ("one", "other")
        }
    codes = {
        "body.kind": BodyKind,
        "body.scope": BodyScope,
        "body.cadence": DigestCadence,
        "member.represents": Represents,
        "member.role": MemberRole,
        "body.rule.from": Represents,
    }
    used |= {f"{prefix}.{c.value}" for prefix, kind in codes.items() for c in kind}
    used |= {"member.represents.none", "member.language.de", "member.language.en"}
    assert len(used) > 80 and not used - set(de), sorted(used - set(de))
    # No English left in the German texts users read.
    for word in ("Digest", "Dashboard", "Pipeline", "Review", "(n)", "(er)"):
        assert not [k for k, v in de.items() if word in v], word
