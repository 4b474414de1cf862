"""The ``Subject`` header of our emails, folded between words and never right after "Subject:".

The standard library's folder may put the whole value on a continuation line
("Subject:\\r\\n Rückmeldung …"), and some clients then show a leading space. This header
folds itself; it owns only the folding of that one header, never its wording.
"""

from __future__ import annotations

import base64
from email.headerregistry import BaseHeader, UnstructuredHeader
from email.policy import Policy

NAME = "Subject"
_PREFIX_LEN = len(NAME) + 2  # "Subject: "


def _fold_plain(words: list[str], max_len: int) -> list[str]:
    """Greedy word wrap; the first line always carries at least one word."""
    lines: list[str] = []
    current = ""
    for word in words:
        limit = max_len - (_PREFIX_LEN if not lines else 1)
        candidate = f"{current} {word}" if current else word
        if current and len(candidate) > limit:
            lines.append(current)
            current = word
        else:
            current = candidate
    lines.append(current)
    return lines


def _encoded(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode("ascii") + "?="


def _fold_encoded(words: list[str], max_len: int) -> list[str]:
    """One RFC 2047 word per line; the separating space travels inside the encoded text."""
    pieces = [w + " " for w in words[:-1]] + words[-1:]
    lines: list[str] = []
    current = ""
    for piece in pieces:
        limit = max_len - (_PREFIX_LEN if not lines else 1)
        if current and len(_encoded(current + piece)) > limit:
            lines.append(_encoded(current))
            current = ""
        for char in piece:  # a word too long for one line is split between characters
            limit = max_len - (_PREFIX_LEN if not lines else 1)
            if current and len(_encoded(current + char)) > limit:
                lines.append(_encoded(current))
                current = ""
            current += char
    lines.append(_encoded(current))
    return lines


class SubjectHeader(UnstructuredHeader, BaseHeader):
    """Set as ``msg["Subject"] = SubjectHeader.of(text)``; every policy then folds it here."""

    @classmethod
    def of(cls, text: str) -> SubjectHeader:
        return cls(NAME, " ".join(text.split()))

    def fold(self, *, policy: Policy) -> str:
        text = str(self)
        max_len = policy.max_line_length or 998
        words = text.split(" ") or [""]
        needs_encoding = not text.isascii() and not getattr(policy, "utf8", False)
        lines = _fold_encoded(words, max_len) if needs_encoding else _fold_plain(words, max_len)
        return f"{NAME}: " + (policy.linesep + " ").join(lines) + policy.linesep
