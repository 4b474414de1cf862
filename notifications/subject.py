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


def _encoded_len(size: int) -> int:
    """The length of ``_encoded`` of a text of ``size`` UTF-8 bytes, without encoding it."""
    return len("=?utf-8?b??=") + 4 * ((size + 2) // 3)


def _fold_encoded(words: list[str], max_len: int) -> list[str]:
    """One RFC 2047 word per line; the separating space travels inside the encoded text.

    Sizes are counted in bytes as the line grows: encoding every candidate line instead cost
    a base64 encoding per character of the subject (bench/FINDINGS.md)."""
    pieces = [w + " " for w in words[:-1]] + words[-1:]
    lines: list[str] = []
    current = ""
    size = 0  # UTF-8 bytes of ``current``
    for piece in pieces:
        limit = max_len - (_PREFIX_LEN if not lines else 1)
        piece_size = len(piece.encode())
        if current and _encoded_len(size + piece_size) > limit:
            lines.append(_encoded(current))
            current, size = "", 0
            limit = max_len - 1
        if _encoded_len(size + piece_size) <= limit:
            current += piece
            size += piece_size
            continue
        for char in piece:  # a word too long for one line is split between characters
            limit = max_len - (_PREFIX_LEN if not lines else 1)
            char_size = len(char.encode())
            if current and _encoded_len(size + char_size) > limit:
                lines.append(_encoded(current))
                current, size = "", 0
            current += char
            size += char_size
    lines.append(_encoded(current))
    return lines


def fold_subject(text: str, policy: Policy) -> str:
    """``Subject: …`` with its line breaks, as ``SubjectHeader.of(text).fold(policy=policy)``
    writes it, without parsing the text as a header first (most subjects hold nothing that
    parsing would change)."""
    if "=?" in text:  # an encoded word in the text itself: the header's own reading decides
        return SubjectHeader.of(text).fold(policy=policy)
    return _fold(" ".join(text.split()), policy)


def _fold(text: str, policy: Policy) -> str:
    max_len = policy.max_line_length or 998
    words = text.split(" ") or [""]
    needs_encoding = not text.isascii() and not getattr(policy, "utf8", False)
    lines = _fold_encoded(words, max_len) if needs_encoding else _fold_plain(words, max_len)
    return f"{NAME}: " + (policy.linesep + " ").join(lines) + policy.linesep


class SubjectHeader(UnstructuredHeader, BaseHeader):
    """Set as ``msg["Subject"] = SubjectHeader.of(text)``; every policy then folds it here."""

    @classmethod
    def of(cls, text: str) -> SubjectHeader:
        return cls(NAME, " ".join(text.split()))

    def fold(self, *, policy: Policy) -> str:
        return _fold(str(self), policy)
