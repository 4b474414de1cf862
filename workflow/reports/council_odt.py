"""Writes the council paper's outline as an OpenDocument text (odfdo); no content of its own.

Many council information systems take OpenDocument; odfdo writes it without LibreOffice.
"""

from __future__ import annotations

import io

from odfdo import Cell, Document, Header, Paragraph, Row, Table

from workflow.reports.council import CouncilPaperData
from workflow.reports.council_outline import outline


def to_odt(paper: CouncilPaperData) -> bytes:
    doc = Document("text")
    body = doc.body
    tables = 0
    for block in outline(paper):
        if block.kind == "title":
            body.append(Header(1, block.text))
        elif block.kind == "heading":
            body.append(Header(2, block.text))
        elif block.kind == "subheading":
            body.append(Header(3, block.text))
        elif block.kind == "para":
            body.append(Paragraph(block.text))
        elif block.kind == "items":
            for (item,) in block.rows:
                body.append(Paragraph(item))
        elif block.kind in ("meta", "table"):
            tables += 1
            table = Table(f"Tabelle{tables}")
            for values in block.rows:
                row = Row()
                for value in values:
                    row.append_cell(Cell(value))
                table.append_row(row)
            body.append(table)
    doc.meta.set_title(paper.subject)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
