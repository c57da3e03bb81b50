"""Payment card numbers, IBANs and national ids: numbers whose shape is common, so each must also pass
its check digits (and, for cards, start like a card scheme's numbers) before it counts.

National ids: US Social Security numbers (``123-45-6789`` outside the ranges never issued; nine bare
digits only after "SSN" or "social security"), UK National Insurance numbers (``AB 12 34 56 C``, the
letter pairs never issued excluded), Spanish DNI/NIE numbers (their check letter), Indian Aadhaar numbers
(``2345 6789 0123``, Verhoeff check).
"""

from __future__ import annotations

import re

from genai.guards.checksums import dni_ok, iban_ok, luhn_ok, verhoeff_ok
from genai.guards.findings import Finding
from genai.guards.windows import Span, finditer

# 13 to 19 digits, in groups separated by one space or dash (or none).
_CARD = re.compile(r"(?<![\w\-.])\d(?:[ \-]?\d){12,18}(?![\w\-]|\.\d)")
# Issuer prefixes: Visa, Mastercard (51-55, 2221-2720), Amex, Discover, JCB, Diners, UnionPay, Maestro.
_CARD_PREFIX = re.compile(r"4|5[1-5]|2[2-7]|3[47]|6011|64[4-9]|65|35|3[068]|62|5[06-9]|6[0-9]")
_CARD_LENGTHS = {"3": (14, 15, 16, 19), "4": (13, 16, 19), "5": (16, 19), "2": (16,), "6": (16, 19)}


def _whole(text: str, spans: list[Span] | None) -> list[Span]:
    return [(0, len(text))] if spans is None else spans


def find_cards(text: str, spans: list[Span] | None = None) -> list[Finding]:
    """Cards in ``text`` (within ``spans`` only, when given: ``windows.numeric_windows``)."""
    found = []
    for m in finditer(_CARD, text, _whole(text, spans)):
        raw = m.group()
        seps = {ch for ch in raw if not ch.isdigit()}
        if len(seps) > 1:  # "1234-5678 9012" mixes separators: a list of numbers, not one card
            continue
        digits = raw.replace(" ", "").replace("-", "")
        if len(digits) not in _CARD_LENGTHS.get(digits[0], ()) or not _CARD_PREFIX.match(digits):
            continue
        if luhn_ok(digits):
            found.append(Finding("card", m.start(), m.end()))
    return found


_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])")


def find_ibans(text: str, spans: list[Span] | None = None) -> list[Finding]:
    found = []
    for m in finditer(_IBAN, text, _whole(text, spans)):
        raw = m.group()
        if iban_ok(raw.replace(" ", "")):
            found.append(Finding("iban", m.start(), m.end()))
            continue
        # A trailing group may be the next word ("... 0130 00 AND"): try without the last group.
        head = raw.rsplit(" ", 1)[0]
        if head != raw and iban_ok(head.replace(" ", "")):
            found.append(Finding("iban", m.start(), m.start() + len(head)))
    return found


_SSN = re.compile(r"(?<![\w\-.])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w\-]|\.\d)")
_SSN_BARE = re.compile(r"(?i)(?:ssn|social security(?: number| no\.?)?)\s*[:#]?\s*(\d{9})(?!\d)")
_NINO = re.compile(
    r"(?<![A-Za-z0-9])([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])"
)
_NINO_NEVER = frozenset({"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"})
_DNI = re.compile(r"(?<![A-Za-z0-9])([XYZ]\d{7}|\d{8})-?([A-Z])(?![A-Za-z0-9])")
_AADHAAR = re.compile(r"(?<![\w\-.])[2-9]\d{3} \d{4} \d{4}(?![\w\-]|\.\d)")


def _ssn_ok(area: str, group: str, serial: str) -> bool:
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def find_national_ids(text: str, spans: list[Span] | None = None) -> list[Finding]:
    found = []
    spans = _whole(text, spans)
    for m in finditer(_SSN, text, spans):
        if _ssn_ok(m.group(1), m.group(3), m.group(4)):
            found.append(Finding("national_id", m.start(), m.end()))
    for m in finditer(_SSN_BARE, text, spans):
        n = m.group(1)
        if _ssn_ok(n[:3], n[3:5], n[5:]):
            found.append(Finding("national_id", m.start(1), m.end(1)))
    for m in finditer(_NINO, text, spans):
        if m.group(1) not in _NINO_NEVER:
            found.append(Finding("national_id", m.start(), m.end()))
    for m in finditer(_DNI, text, spans):
        if dni_ok(m.group(1), m.group(2)):
            found.append(Finding("national_id", m.start(), m.end()))
    for m in finditer(_AADHAAR, text, spans):
        if verhoeff_ok(m.group().replace(" ", "")):
            found.append(Finding("national_id", m.start(), m.end()))
    return found
