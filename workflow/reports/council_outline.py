"""The council paper as an ordered outline of blocks (title, headings, paragraphs, tables).

Owns the paper's wording and order, shared by the Word and OpenDocument writers so both
say the same; knows no file format and never reads the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflow.reports.council import CouncilPaperData
from workflow.reports.german import day

TITLE = "Mitteilungsvorlage"
CONSULTATION_HEAD = ("Gremium", "Sitzung", "Zuständigkeit")
COUNCILS = {"rat", "gemeinderat", "stadtrat", "kreistag"}


@dataclass(frozen=True)
class Block:
    kind: str  # title | meta | heading | subheading | para | table | items
    text: str = ""
    rows: tuple[tuple[str, ...], ...] = ()


def public_label(public: bool) -> str:
    return "öffentlich" if public else "nicht öffentlich"


def consultation_rows(paper: CouncilPaperData) -> tuple[tuple[str, ...], ...]:
    rows = [(c.body, day(c.on) if c.on else "–", "Kenntnisnahme") for c in paper.consultation]
    # The council itself takes note last, unless the office already listed it.
    if not any(c.body.strip().casefold() in COUNCILS for c in paper.consultation):
        rows.append((paper.council, "–", "Kenntnisnahme"))
    return tuple(rows)


def outline(paper: CouncilPaperData) -> tuple[Block, ...]:
    blocks = [
        Block("title", TITLE),
        Block(
            "meta",
            rows=(
                ("Vorlage", f"{paper.organisation}, {paper.office}" if paper.office else paper.organisation),
                ("Datum", day(paper.report_date)),
                ("Status", public_label(paper.public)),
            ),
        ),
        Block("heading", "Betreff"),
        Block("para", paper.subject),
        Block("heading", "Beratungsfolge"),
        Block("table", rows=(CONSULTATION_HEAD, *consultation_rows(paper))),
        Block("heading", "Sachverhalt"),
    ]
    if paper.introduction:
        blocks.extend(Block("para", p) for p in paragraphs(paper.introduction))
    blocks.append(Block("para", paper.summary))
    for section in paper.fields:
        blocks.append(Block("subheading", f"Handlungsfeld {section.code}: {section.name}"))
        blocks.append(Block("para", section.figures))
        blocks.extend(Block("para", p) for p in paragraphs(section.assessment))
    if paper.district:  # District part (issue 15, item 4): the towns, for the Kreistag.
        # Imported here: district_sections builds on this module's Block.
        from workflow.reports.district_sections import outline_blocks

        blocks.extend(outline_blocks(paper.district, paper.year))
    blocks.append(Block("heading", "Anlagen"))
    blocks.append(
        Block("items", rows=tuple((f"Anlage {i}: {t}",) for i, t in enumerate(paper.attachments, 1)))
        if paper.attachments
        else Block("para", "Keine.")
    )
    return tuple(blocks)


def paragraphs(text: str) -> list[str]:
    """Paragraphs as the office typed them: blank lines separate, single breaks join."""
    parts = [" ".join(p.split()) for p in text.replace("\r\n", "\n").split("\n\n")]
    return [p for p in parts if p]
