"""Personal data and secrets in a text: ``find_pii`` says where and of which kind, ``redact`` puts a
placeholder (``[EMAIL]``, ``[CARD]``...) in each place. Kinds: email, phone, card, iban, national_id,
secret (the kinds of ``genai.settings.screening.PII_KINDS``). The detectors are in ``contact.py``,
``identifiers.py``, ``secrets.py`` and ``entropy.py``; docs/screening.md says what each catches and misses.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from genai.guards.contact import find_emails, find_phones
from genai.guards.findings import Finding, without_overlaps
from genai.guards.identifiers import find_cards, find_ibans, find_national_ids
from genai.guards.secrets import find_secrets
from genai.guards.windows import Span, numeric_windows

ALL: tuple[str, ...] = ("email", "phone", "card", "iban", "national_id", "secret")
PLACEHOLDERS: dict[str, str] = {kind: f"[{kind.upper()}]" for kind in ALL}

_TEXT_DETECTORS: dict[str, Callable[[str], list[Finding]]] = {"secret": find_secrets, "email": find_emails}
# These look only where the text has a run of digits (``windows.numeric_windows``, found once).
_NUMERIC_DETECTORS: dict[str, Callable[[str, list[Span]], list[Finding]]] = {
    "card": find_cards,
    "iban": find_ibans,
    "national_id": find_national_ids,
    "phone": find_phones,
}
ALL_BY_PRIORITY = ("secret", "card", "iban", "national_id", "email", "phone")
# Of two overlapping findings the more specific kind wins (a card number is not also a phone number).
_PRIORITY = {kind: rank for rank, kind in enumerate(ALL_BY_PRIORITY)}


def find_pii(text: str, kinds: Collection[str] = ALL) -> list[Finding]:
    """Every personal datum and secret of ``kinds`` in ``text``, by position, none overlapping."""
    if not text:
        return []
    found: list[Finding] = []
    for kind, detect in _TEXT_DETECTORS.items():
        if kind in kinds:
            found.extend(detect(text))
    numeric = [kind for kind in _NUMERIC_DETECTORS if kind in kinds]
    if numeric:
        spans = numeric_windows(text)
        if spans:
            for kind in numeric:
                found.extend(_NUMERIC_DETECTORS[kind](text, spans))
    return without_overlaps(found, _PRIORITY) if len(found) > 1 else found


def redact(text: str, findings: Sequence[Finding]) -> str:
    """``text`` with each finding replaced by its kind's placeholder (a finding overlapping an earlier
    one is skipped)."""
    if not findings:
        return text
    parts: list[str] = []
    at = 0
    for finding in sorted(findings, key=lambda f: f.start):
        if finding.start < at:
            continue
        parts.append(text[at : finding.start])
        parts.append(PLACEHOLDERS.get(finding.kind, f"[{finding.kind.upper()}]"))
        at = finding.end
    parts.append(text[at:])
    return "".join(parts)
