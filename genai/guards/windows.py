"""Where in a long text an expensive pattern is worth running: windows around cheap landmarks (a run of
digits, a trigger word found by plain substring search), so a 4 KB prompt costs a few substring searches
and one fast scan rather than every pattern over every character.

A pattern run on a window still sees the characters before it (lookbehinds look at the whole string), and
each window ends at whitespace, so a window's edge does not cut a token in two. Windows never overlap
(they are merged), so a match is found once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

Span = tuple[int, int]

# A run that starts with a digit and goes on with digits, capitals and separators: every card, phone,
# IBAN and national id the detectors know has one with at least six digits.
_NUMERIC = re.compile(r"\d[0-9A-Z \-.()/]{5,}")
MIN_DIGITS = 6


_NON_SPACE = re.compile(r"\S*")


def to_space(text: str, at: int) -> int:
    """The first whitespace at or after ``at`` (the text's end when none)."""
    if at >= len(text):
        return len(text)
    match = _NON_SPACE.match(text, at)
    return match.end() if match else at


def merged(spans: Iterable[Span]) -> list[Span]:
    out: list[Span] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def numeric_windows(text: str, before: int = 32) -> list[Span]:
    """Windows around the digit runs of ``text`` (``before`` characters of context ahead of each)."""
    spans = []
    for m in _NUMERIC.finditer(text):
        run = m.group()
        if len(run) - sum(map(str.isdigit, run)) <= len(run) - MIN_DIGITS:  # six digits at least
            spans.append((max(0, m.start() - before), to_space(text, m.end())))
    return merged(spans)


def word_windows(text: str, lower: str, words: Iterable[str], before: int, after: int) -> list[Span]:
    """Windows around each occurrence of each of ``words`` in ``lower`` (``text`` lower-cased, same
    length): from ``before`` characters ahead of it to ``after`` past it."""
    spans = []
    for word in words:
        at = lower.find(word)
        while at != -1:
            spans.append((max(0, at - before), to_space(text, at + len(word) + after)))
            at = lower.find(word, at + 1)
    return merged(spans)


def lowered(text: str) -> str | None:
    """``text`` lower-cased, or None where lower-casing changes its length (a few Unicode letters do),
    so positions in one are positions in the other."""
    lower = text.lower()
    return lower if len(lower) == len(text) else None


def finditer(pattern: re.Pattern[str], text: str, spans: Iterable[Span]) -> Iterator[re.Match[str]]:
    for start, end in spans:
        yield from pattern.finditer(text, start, end)
