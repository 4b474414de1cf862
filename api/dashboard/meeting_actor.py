"""The timeline's actor of a move a body decided: "Steuerungsgruppe, Sitzung am 12.03.2027".

The audit trail stores such an actor as ``meeting:<id>`` (workflow/decisions/service.py);
this turns it into the sentence the measure page shows, in the reader's language. Other
actors pass through unchanged. Reads the meetings it names, of the reader's organisation only.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.orm import Session

from api.decision_text import meeting_sentence
from workflow.cycles.queries import TimelineEntry
from workflow.decisions.queries import meeting_refs


def with_meeting_actors(
    session: Session, *, organisation_id: int, entries: list[TimelineEntry], lang: str
) -> list[TimelineEntry]:
    actors = [str(e.detail.get("actor", "")) for e in entries if e.kind == "audit"]
    refs = meeting_refs(session, organisation_id=organisation_id, actors=actors)
    if not refs:
        return entries
    out = []
    for entry in entries:
        ref = refs.get(str(entry.detail.get("actor", ""))) if entry.kind == "audit" else None
        if ref is not None:
            entry = replace(entry, detail={**entry.detail, "actor": meeting_sentence(ref, lang)})
        out.append(entry)
    return out
