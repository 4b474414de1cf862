"""Turns a report's HTML into A4 PDF bytes with WeasyPrint; owns no content and never reads the clock.

The PDF's creation and modification dates come from the document's own ``dcterms`` meta
tags (the report date), so the same HTML gives the same PDF bytes.
"""

from __future__ import annotations


def html_to_pdf(html: str) -> bytes:
    # Imported here: WeasyPrint loads Pango at import time, which only PDF output needs.
    from weasyprint import HTML

    pdf = HTML(string=html, base_url=None).write_pdf()
    assert pdf is not None  # write_pdf() without a target always returns the bytes
    return pdf
