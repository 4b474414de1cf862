"""Everything stored about one address (DSGVO Art. 15), as JSON-ready data grouped by table."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from workflow.catalogue.models import Organisation
from workflow.privacy.scan import SECRET_SUFFIX
from workflow.privacy.selection import find_person, person_rows

FORMAT_VERSION = 1


def export_person(session: Session, organisation: Organisation, email: str) -> dict[str, Any]:
    """The person's rows by table, keys sorted, dates ISO 8601; secret hashes left out."""
    person = find_person(session, organisation, email)
    rows = person_rows(session, person) if person.found else {}
    return {
        "format": FORMAT_VERSION,
        "organisation": organisation.slug,
        "email": person.email,
        "names": sorted(person.names),
        "tables": {name: [_plain(r) for r in found] for name, found in sorted(rows.items())},
    }


def _plain(row: RowMapping) -> dict[str, Any]:
    plain = {str(k): _value(v) for k, v in row.items()}
    return {k: v for k, v in sorted(plain.items()) if not k.endswith(SECRET_SUFFIX)}


def _value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value
