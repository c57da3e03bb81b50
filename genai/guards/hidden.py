"""Hidden text: characters a reader does not see but a model reads. Zero-width characters (spaces,
joiners, the BOM inside text), bidirectional controls (which reorder what is shown), Unicode tag
characters (an invisible copy of ASCII) and the interlinear annotation controls. Runs of them are one
finding; a single zero-width joiner between two emoji or letters is how some scripts and emoji
sequences are written, so an isolated ZWJ/ZWNJ is not counted."""

from __future__ import annotations

import re

from genai.guards.findings import Finding

_INVISIBLE = re.compile(
    "[\u200b\u200c\u200d\u2060-\u2064\ufeff\u180e\u00ad\u202a-\u202e\u2066-\u2069\u206a-\u206f"
    "\ufff9-\ufffb\U000e0000-\U000e007f]+"
)
_JOINERS = frozenset("\u200c\u200d")
# Soft hyphens are common in text pasted from typeset documents; only a run of them hides anything.
_SOFT = "\u00ad"


def find_hidden(text: str) -> list[Finding]:
    if text.isascii():
        return []
    found = []
    for m in _INVISIBLE.finditer(text):
        run = m.group()
        if len(run) == 1 and (run in _JOINERS or run == _SOFT):
            continue
        if len(run) == 1 and run == "\ufeff" and m.start() == 0:  # a byte-order mark at the start
            continue
        found.append(Finding("hidden_text", m.start(), m.end()))
    return found
