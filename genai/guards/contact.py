"""Email addresses and phone numbers.

Phones: an international number (``+CC`` then 7 to 14 more digits in groups) always counts; national
formats (North American ``(415) 555-0132`` / ``415-555-0132``, UK ``020 7946 0958`` / ``07700 900123``,
French ``01 42 68 53 00``, German ``030 12345678``) need their separators and valid leading digits, so a
plain run of digits, a date (``2024-01-15``) or a version string never matches, and a number named an
order, invoice, ticket or similar just before it is left alone.
"""

from __future__ import annotations

import re

from genai.guards.findings import Finding
from genai.guards.windows import Span, finditer

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,63})@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)
# "git@github.com:org/repo" is an SSH remote, not someone's address; ".tld" is a placeholder's.
_NOT_EMAIL_LOCAL = frozenset({"git", "hg", "svn"})
_NOT_EMAIL_TLD = ".tld"

_SEP = r"[ .\-\u00a0]"
_PHONE_INTL = re.compile(rf"(?<![\w+])\+[1-9]\d{{0,2}}(?:{_SEP}?\(?\d{{1,4}}\)?){{2,6}}(?![\w.]?\d)")
_PHONE_NATIONAL = re.compile(
    r"(?<![\w.\-/])(?<!\d )(?:"
    r"\([2-9]\d{2}\)[ ]?[2-9]\d{2}[-. ]\d{4}"  # (415) 555-0132
    r"|[2-9]\d{2}([-. ])[2-9]\d{2}\1\d{4}"  # 415-555-0132, 415.555.0132
    r"|0[1-9]\d{1,3}[ -]\d{3,4}[ -]?\d{3,4}"  # 020 7946 0958, 07700 900123, 030 12345678
    r"|0[1-9](?:[ .]\d{2}){4}"  # 01 42 68 53 00
    r")(?![\w\-/]|[. ]\d)"
)
_NOT_A_PHONE_BEFORE = re.compile(
    r"(?i)(?:\b(?:order|invoice|ticket|case|ref(?:erence)?|serial|sku|part|tracking|account|acct|isbn|"
    r"issue|build|version|id)(?:\s+(?:number|no\.?|id))?|#)\s*[:#]?\s*$"
)
_PHONE_CONTEXT = re.compile(r"(?i)(?:phone|call|tel|mobile|cell|fax|whatsapp|text me|reach me|contact)")


def find_emails(text: str) -> list[Finding]:
    if "@" not in text:
        return []
    found = []
    for m in _EMAIL.finditer(text):
        local = m.group().split("@", 1)[0].lower()
        if local in _NOT_EMAIL_LOCAL and text.startswith(":", m.end()):
            continue
        if m.group().lower().endswith(_NOT_EMAIL_TLD):
            continue
        found.append(Finding("email", m.start(), m.end()))
    return found


def _digit_count(s: str) -> int:
    return sum(ch.isdigit() for ch in s)


def find_phones(text: str, spans: list[Span] | None = None) -> list[Finding]:
    """Phone numbers in ``text`` (within ``spans`` only, when given: ``windows.numeric_windows``)."""
    found = []
    spans = [(0, len(text))] if spans is None else spans
    if "+" in text:
        for m in finditer(_PHONE_INTL, text, spans):
            if 8 <= _digit_count(m.group()) <= 15:
                found.append(Finding("phone", m.start(), m.end()))
    for m in finditer(_PHONE_NATIONAL, text, spans):
        before = text[max(0, m.start() - 24) : m.start()]
        strong = text.startswith("(", m.start())
        if not strong and _NOT_A_PHONE_BEFORE.search(before) and not _PHONE_CONTEXT.search(before):
            continue
        found.append(Finding("phone", m.start(), m.end()))
    return found
