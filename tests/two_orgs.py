"""Two organisations in one database for the tenant walk: B as the dashboard tests seed it, A marked.

Organisation B is ``tests.dashboard_seed.seed`` (Musterstadt, its accounts sign in with
``login``). Organisation A gets the same example catalogue and indicators, but every text a
reader could see carries ``MARK`` and every address ends in ``@quastenflosser.example.org``,
so a response that shows any of A's data to B is found by a substring test. Both have an
open cycle, sent mail (caught as ``.eml`` files by the real SMTP sink), a data request and a
password-reset mail. This module seeds; it never asserts anything about access.
"""

from __future__ import annotations

import csv
import email
import email.policy
import hashlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from notifications.sink import start_sink
from tests.conftest import EXAMPLES
from tests.dashboard_seed import Seed, seed
from tests.live import free_port
from workflow.accounts import Role, add_or_update_user, create_api_token
from workflow.accounts import request_password_reset as queue_password_reset
from workflow.bodies.models import BodyKind, Meeting
from workflow.bodies.service import add_member, create_body
from workflow.catalogue.models import Measure
from workflow.catalogue.service import ensure_organisation, import_catalogue
from workflow.conference.actors import add_actor
from workflow.conference.conferences import create_conference
from workflow.conference.consent import record_consent
from workflow.cycles.models import MeasureCycle
from workflow.cycles.service import open_cycle, record_interview
from workflow.db import unit_of_work
from workflow.decisions.models import Decision
from workflow.indicators.importer import import_indicators
from workflow.meetings.models import AgendaItem, MeetingGuest
from workflow.runtime import Runtime
from workflow.status_checks.selection import Selection
from workflow.status_checks.service import open_status_check
from workflow.sweep import run_sweep
from workflow.tasks import send_all

MARK = "Quastenflosser"
A_SLUG = "quastenflosser"
A_DOMAIN = "quastenflosser.example.org"
A_EMAILS = {role: f"{role.value}@{A_DOMAIN}" for role in Role}
YEAR = 2026
# Secrets in mail bodies: form links and password-reset links.
LINK_TOKEN = re.compile(r"/(f|passwort/neu)/([A-Za-z0-9_\-]{20,})")


@dataclass
class OrgData:
    """One organisation's rows by table (ids in id order), its mail and the secrets in it."""

    seed: Seed
    ids: dict[str, list[int]] = field(default_factory=dict)
    versions: dict[int, int] = field(default_factory=dict)  # measure_cycle id -> version
    mails: list[str] = field(default_factory=list)  # .eml file names addressed to it
    mail_kinds: dict[str, str] = field(default_factory=dict)  # file name -> outbox kind
    form_tokens: list[str] = field(default_factory=list)  # raw tokens of its form links
    reset_tokens: list[str] = field(default_factory=list)  # raw password-reset tokens

    @property
    def secrets(self) -> list[str]:
        return [*self.form_tokens, *self.reset_tokens]


@dataclass
class TwoOrgs:
    a: OrgData
    b: OrgData

    def markers(self) -> list[str]:
        """Strings that only A's data contains, lower case: none may reach anyone of B."""
        return [MARK.lower(), A_DOMAIN, *(s.lower() for s in self.a.secrets)]


def _marked(value: str) -> str:
    return f"{value} {MARK}" if value else value


def _move_address(value: str) -> str:
    return value.rpartition("@")[0] + "@" + A_DOMAIN if "@" in value else value


def _rewrite_csv(source: Path, target: Path, rules: dict[str, Callable[[str], str]]) -> Path:
    with source.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        names = list(reader.fieldnames or [])
        rows = [{k: rules.get(k, str)(v) for k, v in row.items()} for row in reader]
    with target.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=names)
        writer.writeheader()
        writer.writerows(rows)
    return target


def marked_examples(directory: Path) -> tuple[Path, Path]:
    """The example catalogue and indicators, with every visible text of A marked."""
    directory.mkdir(parents=True, exist_ok=True)
    catalogue = _rewrite_csv(
        EXAMPLES / "catalogue.csv",
        directory / "catalogue-a.csv",
        {
            "handlungsfeld": _marked,
            "ziel": _marked,
            "massnahme": _marked,
            "beschreibung": _marked,
            "fachbereich": _marked,
            "kontakt_name": _marked,
            "kontakt_email": _move_address,
        },
    )
    indicators = _rewrite_csv(
        EXAMPLES / "indicators.csv",
        directory / "indicators-a.csv",
        {
            "aussage": _marked,
            "grundzahlen": _marked,
            "quelle": _marked,
            "quelle_name": _marked,
            "quelle_email": _move_address,
            "quelle_fachbereich": _marked,
            "anmerkungen": _marked,
        },
    )
    return catalogue, indicators


def _seed_a(rt: Runtime, catalogue: Path) -> Seed:
    with unit_of_work(rt.sessions) as session:
        org = ensure_organisation(session, slug=A_SLUG, name=f"Stadt {MARK}")
        import_catalogue(session=session, organisation_id=org.id, path=catalogue)
        result = open_cycle(session=session, clock=rt.clock, organisation_id=org.id, year=YEAR)
        out = Seed(org.id, result.cycle_id, [])
        for role, address in A_EMAILS.items():
            user = add_or_update_user(
                session=session,
                organisation_id=org.id,
                email=address,
                role=role,
                password="ein langes Passwort 456",
                now=rt.clock.now(),
            )
            out.user_ids[role] = user.id
            out.tokens[role] = create_api_token(session, user, MARK, rt.clock.now())[1]
        out.item_ids = list(
            session.scalars(
                select(MeasureCycle.id)
                .where(MeasureCycle.cycle_id == result.cycle_id)
                .order_by(MeasureCycle.id)
            )
        )
    return out


def _bodies(session: Session, organisation_id: int, name: str, domain: str, today: date) -> None:
    """A steering group with a member and a meeting: the Gremien routes take their ids."""
    body = create_body(
        session=session,
        organisation_id=organisation_id,
        name=f"Steuerungsgruppe {name}",
        kind=BodyKind.STEERING_GROUP.value,
    )
    add_member(
        session=session,
        body=body,
        name=f"Ratsmitglied {name}",
        email=f"ratsmitglied@{domain}",
        today=today,
    )
    meeting = Meeting(body_id=body.id, held_on=date(YEAR, 5, 6), title=f"Sitzung {name}")
    session.add(meeting)
    session.flush()
    # An agenda item, a guest and a decision: the meeting routes take their ids.
    session.add(
        AgendaItem(meeting_id=meeting.id, position=1, kind="other", title=f"Bericht {name}")
    )
    session.add(MeetingGuest(meeting_id=meeting.id, name=f"Gast {name}", email=f"gast@{domain}"))
    session.add(
        Decision(
            organisation_id=organisation_id,
            meeting_id=meeting.id,
            kind="recommendation",
            text=f"Empfehlung {name}",
            created_at=datetime(YEAR, 1, 5, tzinfo=UTC),
            created_by="test",
        )
    )
    session.flush()


def _conference(
    session: Session, organisation_id: int, name: str, domain: str, now: datetime
) -> None:
    """An actor with a consent and a conference: the Integrationskonferenz routes take their ids."""
    actor = add_actor(
        session, organisation_id=organisation_id, name=f"Verein {name}", kind="association",
        email=f"verein@{domain}", contact_name=f"Vorsitz {name}", now=now,
    )  # fmt: skip
    record_consent(
        session, actor=actor, purpose="invitations", given_on=now.date(),
        how=f"schriftlich {name}", recorded_by="test", today=now.date(), now=now,
    )  # fmt: skip
    create_conference(
        session, organisation_id=organisation_id, title=f"Integrationskonferenz {name}",
        held_on=date(YEAR, 9, 17), place=f"Ratssaal {name}", created_by="test", now=now,
    )  # fmt: skip


def _first_measure(session: Session, org_seed: Seed) -> int:
    mc = session.get(MeasureCycle, org_seed.item_ids[0])
    assert mc is not None
    return mc.measure_id


def owned_ids(conn: Connection, organisation_id: int) -> dict[str, list[int]]:
    """The ids of every row an organisation owns, per table with a one-column integer key."""
    out: dict[str, list[int]] = {}
    for (table, key), owner in owners(conn).items():
        if owner == organisation_id and len(key) == 1 and isinstance(key[0], int):
            out.setdefault(table, []).append(key[0])
    return {t: sorted(ids) for t, ids in out.items()}


def _org_rows(rt: Runtime, data: OrgData) -> None:
    org = data.seed.organisation_id
    with rt.engine.connect() as conn:
        data.ids = owned_ids(conn, org)
    with rt.sessions() as session:
        data.versions = {
            row.id: row.version
            for row in session.execute(
                select(MeasureCycle.id, MeasureCycle.version).where(
                    MeasureCycle.organisation_id == org
                )
            )
        }
        with_measures = set(
            session.scalars(select(Measure.contact_id).where(Measure.organisation_id == org))
        )
    # Contacts with measures first: the interview page is about a contact's measures.
    data.ids["contact"].sort(key=lambda i: (i not in with_measures, i))


@contextmanager
def _sink_for(rt: Runtime) -> Iterator[None]:
    """The real aiosmtpd sink on the runtime's SMTP port, writing into its mail_sink_dir."""
    assert rt.settings.mail_sink_dir is not None
    controller, _handler = start_sink(
        rt.settings.smtp_host, rt.settings.smtp_port, rt.settings.mail_sink_dir
    )
    try:
        yield
    finally:
        controller.stop()


def sink_settings(var_dir: Path) -> dict[str, Any]:
    """Settings overrides for a runtime whose mail goes to a sink of its own."""
    return {"smtp_host": "127.0.0.1", "smtp_port": free_port(), "mail_sink_dir": var_dir / "mail"}


def _split_mail(rt: Runtime, world: TwoOrgs) -> None:
    sink = rt.settings.mail_sink_dir
    assert sink is not None
    for path in sorted(sink.glob("*.eml")):
        raw = path.read_bytes()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        owner = world.a if A_DOMAIN in str(message["To"] or "") else world.b
        owner.mails.append(path.name)
        owner.mail_kinds[path.name] = str(message["X-Zielflow-Kind"] or "")
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else raw.decode("utf-8", "replace")
        for kind, token in LINK_TOKEN.findall(text):
            found = owner.form_tokens if kind == "f" else owner.reset_tokens
            if token not in found:
                found.append(token)


def seed_two_orgs(rt: Runtime, work_dir: Path) -> TwoOrgs:
    """A and B, each with catalogue, cycle, accounts, indicators, a data request and sent mail.

    ``rt`` must send to a port where nothing listens yet (see ``sink_settings``): the sink
    is started here for the one send and stopped again.
    """
    catalogue, indicators = marked_examples(work_dir / "examples-a")
    a_seed = _seed_a(rt, catalogue)
    b_seed = seed(rt, YEAR)
    today = rt.clock.now().date()
    with unit_of_work(rt.sessions) as session:
        for org_seed, path in ((a_seed, indicators), (b_seed, EXAMPLES / "indicators.csv")):
            import_indicators(
                session=session,
                organisation_id=org_seed.organisation_id,
                path=path,
                now=rt.clock.now(),
                today=today,
            )
            # Two measures on to Zielvereinbarung: their invitations carry form links.
            for item_id in org_seed.item_ids[:2]:
                record_interview(
                    session=session,
                    clock=rt.clock,
                    measure_cycle_id=item_id,
                    expected_version=None,
                    actor="test",
                    decision="keep",
                )
        _bodies(session, a_seed.organisation_id, MARK, A_DOMAIN, today)
        _bodies(session, b_seed.organisation_id, "Musterstadt", "musterstadt.example.org", today)
        _conference(session, a_seed.organisation_id, MARK, A_DOMAIN, rt.clock.now())
        _conference(
            session, b_seed.organisation_id, "Musterstadt", "musterstadt.example.org",
            rt.clock.now(),
        )  # fmt: skip
        for address in (A_EMAILS[Role.ADMIN], f"{Role.ADMIN.value}@musterstadt.example.org"):
            queue_password_reset(session, address, rt.clock.now())
    run_sweep(sessions=rt.sessions, clock=rt.clock)
    with _sink_for(rt):
        send_all(rt)
    # A status check each (after the send: its invitation waits in the outbox, so the walk
    # does not depend on the status-check form); the status-check routes take its id.
    with unit_of_work(rt.sessions) as session:
        for org_seed, name in ((a_seed, MARK), (b_seed, "")):
            open_status_check(
                session,
                clock=rt.clock,
                organisation_id=org_seed.organisation_id,
                selection=Selection(measure_ids=(_first_measure(session, org_seed),)),
                due_on=date(YEAR, 3, 31),
                actor="test",
                title=f"Sachstand {name}" if name else "",
            )
    world = TwoOrgs(OrgData(a_seed), OrgData(b_seed))
    _org_rows(rt, world.a)
    _org_rows(rt, world.b)
    _split_mail(rt, world)
    return world


# --- what the database holds, for "nothing changed" checks --------------------------------

# Columns that may move on any request of the row's own owner (last use of a token or a
# session): never of another organisation, but they are not data either.
VOLATILE_COLUMN = re.compile(r"^(last_(used|seen|active)(_at)?|idle_until)$")


def reflect(conn: Connection) -> list[Table]:
    """The database's tables as they are (a later revision's tables included)."""
    meta = MetaData()
    meta.reflect(conn)
    return [t for t in meta.sorted_tables if t.name != "alembic_version"]


def database_rows(
    conn: Connection, tables: list[Table] | None = None
) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
    """Every row of every table, by primary key, without the volatile columns."""
    out: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]] = {}
    for table in tables if tables is not None else reflect(conn):
        keys = [c for c in table.primary_key.columns] or list(table.columns)
        kept = [c for c in table.columns if not VOLATILE_COLUMN.match(c.name)]
        rows = conn.execute(select(*keys, *kept))
        out[table.name] = {tuple(r[: len(keys)]): tuple(r[len(keys) :]) for r in rows}
    return out


def owners(conn: Connection) -> dict[tuple[str, tuple[Any, ...]], int]:
    """The organisation each row belongs to: its own ``organisation_id``, else its parent's.

    Derived from the foreign keys, so a table added by a later revision is covered without
    being named here.
    """
    tables = reflect(conn)
    rows: dict[str, list[dict[str, Any]]] = {
        t.name: [dict(r) for r in conn.execute(select(t)).mappings()] for t in tables
    }
    pk = {t.name: [c.name for c in t.primary_key.columns] for t in tables}
    owner: dict[tuple[str, tuple[Any, ...]], int] = {}

    def key(table: str, row: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
        return table, tuple(row[c] for c in pk[table])

    for name, table_rows in rows.items():
        for row in table_rows:
            if name == "organisation":
                owner[key(name, row)] = row["id"]
            elif row.get("organisation_id") is not None:
                owner[key(name, row)] = row["organisation_id"]
    changed = True
    while changed:  # children inherit the owner of the row they point to
        changed = False
        for table in tables:
            for row in rows[table.name]:
                k = key(table.name, row)
                if k in owner:
                    continue
                for fk in table.foreign_keys:
                    target = fk.column.table.name
                    value = row.get(fk.parent.name)
                    if value is None or fk.column.name not in pk.get(target, []):
                        continue
                    parent = owner.get((target, (value,)))
                    if parent is not None:
                        owner[k] = parent
                        changed = True
                        break
    return owner


def rows_of(conn: Connection, organisation_id: int) -> dict[str, str]:
    """A digest of every row that belongs to one organisation, per table."""
    belongs = owners(conn)
    digest: dict[str, Any] = {}
    for table, table_rows in database_rows(conn).items():
        mine = sorted(
            (repr(k), repr(v))
            for k, v in table_rows.items()
            if belongs.get((table, k)) == organisation_id
        )
        digest[table] = (len(mine), hashlib.sha256(repr(mine).encode()).hexdigest()[:16])
    return {t: f"{n} rows {h}" for t, (n, h) in digest.items()}


def cross_links(conn: Connection) -> list[str]:
    """Rows of one organisation that point at a row of another: always a tenant leak."""
    belongs = owners(conn)
    found = []
    for table in reflect(conn):
        if table.name == "organisation":
            continue
        pk = [c.name for c in table.primary_key.columns]
        for row in conn.execute(select(table)).mappings():
            mine = belongs.get((table.name, tuple(row[c] for c in pk)))
            for fk in table.foreign_keys:
                value = row[fk.parent.name]
                target = fk.column.table.name
                theirs = belongs.get((target, (value,))) if value is not None else None
                if mine is not None and theirs is not None and mine != theirs:
                    found.append(
                        f"{table.name}.{fk.parent.name}={value} -> {target} of org {theirs}"
                    )
    return found
