"""Long random-looking tokens: what an API key or a password looks like when no known pattern names it.

A token is a run of 20 to 256 characters of the base64 / URL-safe alphabet. It counts when its Shannon
entropy per character is close to what a random string of that length over that alphabet reaches, and it
mixes upper case, lower case and digits. Left alone on purpose: hex strings (git SHAs, hashes, UUIDs: at
most 4 bits a character and far more often an identifier than a secret), paths and dotted names (split
on ``/`` and ``.``), words glued together in CamelCase, and long base64 blobs after ``base64,`` (images).
"""

from __future__ import annotations

import math
import re
from collections import Counter

from genai.guards.findings import Finding

_TOKEN = re.compile(r"(?<![A-Za-z0-9+/=_\-])[A-Za-z0-9+/=_\-]{20,256}(?![A-Za-z0-9+/=_\-])")
_HEX_OR_UUID = re.compile(r"[0-9a-fA-F\-]+")
# How close to a random string's entropy a token must come (measured on tests/data/screening).
MIN_ENTROPY_RATIO = 0.82
MIN_DIGITS = 2


def shannon_bits(s: str) -> float:
    """The entropy of ``s``'s character distribution, in bits per character."""
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


def _random_bits(n: int) -> float:
    """About the entropy a random string of ``n`` characters over ~64 symbols shows (at most log2 n:
    a short string cannot show more distinct symbols than it has characters)."""
    return math.log2(min(n, 64)) - (0.5 if n < 64 else 0.15)


def looks_random(token: str) -> bool:
    if _HEX_OR_UUID.fullmatch(token) or token.count("/") > 1:
        return False
    upper = sum(ch.isupper() for ch in token)
    lower = sum(ch.islower() for ch in token)
    digits = sum(ch.isdigit() for ch in token)
    if upper < 2 or lower < 2 or digits < MIN_DIGITS:
        return False
    # CamelCaseWords: many runs of a capital then lower case letters; a random token has few.
    words = re.findall(r"[A-Z][a-z]{2,}", token)
    if sum(map(len, words)) > 0.6 * len(token):
        return False
    return shannon_bits(token) >= MIN_ENTROPY_RATIO * _random_bits(len(token))


def find_random_tokens(text: str) -> list[Finding]:
    found: list[Finding] = []
    if len(text) > 256 and max(map(len, text.split()), default=0) < 20:
        return found  # no word long enough: prose, where splitting is cheaper than the scan
    for m in _TOKEN.finditer(text):
        if text.endswith("base64,", 0, m.start()):
            continue
        token = m.group().strip("=-_")
        if len(token) >= 20 and looks_random(token):
            found.append(Finding("secret", m.start(), m.end()))
    return found
