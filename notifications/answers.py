"""The submitted answers of one measure as (label, value) pairs, for confirmations and digests."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.cycles.models import Review, TargetAgreement

_AGREEMENT_LABELS = {
    "de": {
        "decision": "Entscheidung",
        "reason": "Begründung",
        "targets": "Ziele",
        "milestones": "Meilensteine",
        "responsible": "Verantwortlich",
        "resources": "Benötigte Ressourcen",
    },
    "en": {
        "decision": "Decision",
        "reason": "Reason",
        "targets": "Targets",
        "milestones": "Milestones",
        "responsible": "Responsible",
        "resources": "Resources needed",
    },
}
_REVIEW_LABELS = {
    "de": {
        "achievement": "Zielerreichung",
        "comment": "Kommentar",
        "obstacles": "Hindernisse",
        "proposal": "Vorschlag für den nächsten Zyklus",
        "proposal_text": "Erläuterung",
    },
    "en": {
        "achievement": "Achievement",
        "comment": "Comment",
        "obstacles": "Obstacles",
        "proposal": "Proposal for the next cycle",
        "proposal_text": "Explanation",
    },
}
_VALUES = {
    "de": {
        "implement": "Umsetzen",
        "deferred": "Zurückstellen",
        "drop_proposed": "Streichung vorgeschlagen",
        "erreicht": "erreicht",
        "teilweise": "teilweise erreicht",
        "nicht_erreicht": "nicht erreicht",
        "nicht_begonnen": "nicht begonnen",
        "continue": "fortführen",
        "adapt": "anpassen",
        "drop": "streichen",
    },
    "en": {
        "implement": "Implement",
        "deferred": "Defer",
        "drop_proposed": "Proposed to drop",
        "erreicht": "achieved",
        "teilweise": "partly achieved",
        "nicht_erreicht": "not achieved",
        "nicht_begonnen": "not started",
        "continue": "continue",
        "adapt": "adapt",
        "drop": "drop",
    },
}


def _value(raw: object, lang: str) -> str:
    text = str(raw or "")
    return _VALUES[lang].get(text, text)


def answer_pairs(session: Session, measure_cycle_id: int, phase: str, lang: str) -> list[list[str]]:
    lang = lang if lang in ("de", "en") else "de"
    if phase == "review":
        review = session.scalars(
            select(Review).where(Review.measure_cycle_id == measure_cycle_id)
        ).first()
        if review is None:
            return []
        return [
            [label, _value(getattr(review, key), lang)]
            for key, label in _REVIEW_LABELS[lang].items()
            if getattr(review, key)
        ]
    agreement = session.scalars(
        select(TargetAgreement).where(TargetAgreement.measure_cycle_id == measure_cycle_id)
    ).first()
    if agreement is None:
        return []
    pairs = []
    for key, label in _AGREEMENT_LABELS[lang].items():
        value = getattr(agreement, key)
        if key == "milestones":
            value = "\n".join(
                f"{m.get('date', '')} {m.get('text', '')}".strip() for m in value or []
            )
        if value:
            pairs.append([label, _value(value, lang)])
    return pairs
