"""Terms for sparse retrieval: a tokenizer that keeps technical identifiers whole and also splits them.

A query for ``pg_stat_activity``, ``os.path.join``, ``--max-tokens``, ``ERR_CONNECTION_REFUSED`` or
``getValue`` must match the document that spells it exactly, better than one that only mentions its parts;
a query for ``stat activity`` should still find it. So each identifier yields itself, lower-cased, and its
parts (split at ``_ . - : / ::`` and at lower-to-upper case changes); a flag also yields itself without its
dashes. Plain words yield themselves. Terms are lower-cased, a short English stop list is dropped (IDF would
make such words nearly worthless anyway; dropping them keeps vectors small), and so is anything longer than
``MAX_TERM_CHARS`` (hashes, base64).

Term ids are the first 4 bytes of the term's BLAKE2b digest: fixed across processes, machines and Python
versions (Python's ``hash()`` is salted per process), in the unsigned 32-bit range Qdrant's sparse indices
take. Two terms sharing an id are rare (a vocabulary of 100,000 terms holds about one such pair) and only
merge those two terms' counts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

TERMS_VERSION = "1"  # bump when the terms a text yields change: sparse vectors are then rebuilt
MAX_TERM_CHARS = 64

# An identifier: optional leading dashes (a command-line flag), word characters, joined by . - : / or ::
_IDENTIFIER = re.compile(r"(?<![\w-])-{1,2}(?=\w)[\w]+(?:(?:::|[.\-:/])\w+)*|\w+(?:(?:::|[.\-:/])\w+)*")
_SEPARATORS = re.compile(r"::|[._\-:/]+")
# camelCase and PascalCase boundaries, keeping acronyms together: getHTTPResponse -> get, HTTP, Response
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
    ]
)


def _parts(identifier: str) -> Iterator[str]:
    for piece in _SEPARATORS.split(identifier):
        if not piece:
            continue
        yield piece
        camel = _CAMEL.findall(piece)
        if len(camel) > 1:
            yield from camel


def terms(text: str) -> list[str]:
    """The text's terms in order, with repeats (term frequency counts them)."""
    out: list[str] = []
    for match in _IDENTIFIER.finditer(text):
        whole = match.group()
        lowered = whole.lower()
        found = [lowered]
        stripped = lowered.lstrip("-")
        if stripped != lowered:
            found.append(stripped)
        if _SEPARATORS.search(stripped) or len(_CAMEL.findall(whole.lstrip("-"))) > 1:
            # A one-character part (the E of E1234, the s of os_s) matches too much to be worth a term.
            found.extend(part.lower() for part in _parts(whole.lstrip("-")) if len(part) > 1)
        seen: set[str] = set()
        for term in found:
            if term in seen or term in STOP_WORDS or len(term) > MAX_TERM_CHARS:
                continue
            seen.add(term)
            out.append(term)
    return out


def term_id(term: str) -> int:
    """A term's sparse index: fixed for the term everywhere, in 0 .. 2**32 - 1."""
    return int.from_bytes(hashlib.blake2b(term.encode(), digest_size=4).digest(), "big")
