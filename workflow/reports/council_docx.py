"""Writes the council paper's outline as a Word document (python-docx); no content of its own.

The council office takes the paper into its own system, which reads Word files; the core
properties carry the report date, never the clock.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, time

from docx import Document

from workflow.reports.council import CouncilPaperData
from workflow.reports.council_outline import outline


def to_docx(paper: CouncilPaperData) -> bytes:
    doc = Document()
    for block in outline(paper):
        if block.kind == "title":
            doc.add_heading(block.text, level=0)
        elif block.kind == "heading":
            doc.add_heading(block.text, level=1)
        elif block.kind == "subheading":
            doc.add_heading(block.text, level=2)
        elif block.kind == "para":
            doc.add_paragraph(block.text)
        elif block.kind == "items":
            for (item,) in block.rows:
                doc.add_paragraph(item, style="List Bullet")
        elif block.kind in ("meta", "table"):
            table = doc.add_table(rows=0, cols=len(block.rows[0]))
            table.style = "Table Grid"
            for values in block.rows:
                cells = table.add_row().cells
                for cell, value in zip(cells, values, strict=True):
                    cell.text = value
    props = doc.core_properties
    props.title = paper.subject
    props.author = paper.organisation
    props.created = props.modified = datetime.combine(paper.report_date, time(), UTC)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
