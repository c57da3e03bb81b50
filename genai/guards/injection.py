"""Prompt-injection heuristics: text that tries to take over the model's instructions. Kinds:

* ``ignore_instructions``: "ignore / disregard / forget (all) (the) previous / above instructions",
  "your new instructions are", "override your rules";
* ``reveal_system_prompt``: asking for the system prompt, hidden instructions or initial rules to be
  shown, printed, repeated;
* ``role_play``: the known jailbreak frames: DAN / "do anything now", developer or god mode,
  "pretend you are / act as ... with no restrictions", "you are no longer bound by";
* ``hidden_text``: invisible characters (``hidden.py``).

Phrases are matched on the imperative and its object together, so a text that talks about prompts or
about injection ("how do I write a good system prompt?", "ignore the noise in this data") does not
match. A cheap keyword scan runs first; the patterns only on a text that has one of the keywords.
"""

from __future__ import annotations

import re

from genai.guards.findings import Finding, without_overlaps
from genai.guards.hidden import find_hidden
from genai.guards.windows import finditer, lowered, word_windows

KINDS: tuple[str, ...] = ("ignore_instructions", "reveal_system_prompt", "role_play", "hidden_text")

# A text under this many characters is scanned whole (windows cost more than they save there).
_SHORT = 512
# Every pattern below needs one of these words: most short texts have none and skip the patterns.
_PREFILTER = re.compile(
    r"(?i)ignore|disregard|forget|override|bypass|skip|drop|abandon|instructions|prompt|system|repeat|"
    r"reveal|print|above|\bdan\b|anything now|mode\b|jailbr|pretend|imagine|\bact\b|behave|no longer|"
    r"rules|from now on|\[?system"
)
# Words that point at the instructions already in force ("your", "previous", "system"...); "the" alone
# does not: "ignore the rules of the kingdom" is a story, "ignore all rules" is an order.
_MARKED = (
    r"(?:previous|prior|above|earlier|preceding|foregoing|original|initial|system|all|any|your|these|"
    r"those|safety|security|content|ethical|moral|current|existing|default)"
)
_FILLER = rf"(?:(?:{_MARKED}|the|of|what|everything|and|other)[\s,]+)"
_STRONG_ORDERS = (
    r"(?:instructions?|prompts?|directives|guardrails|programming|you\s+(?:were|have\s+been)\s+"
    r"(?:told|given)|said\s+before|(?:was\s+)?said\s+above)"
)
_WEAK_ORDERS = r"(?:rules|directions|guidelines|constraints|context|commands|policies|restrictions)"
_VERB = (
    r"(?:ignore|disregard|forget|override|bypass|skip|drop|abandon|stop\s+following|"
    r"(?:do\s+not|don't|dont|no\s+longer)\s+(?:follow|obey))"
)
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "ignore_instructions",
        re.compile(rf"(?i)\b{_VERB}\s+(?:about\s+)?{_FILLER}{{1,5}}{_STRONG_ORDERS}"),
    ),
    (
        "ignore_instructions",
        re.compile(
            rf"(?i)\b{_VERB}\s+(?:about\s+)?{_FILLER}{{0,3}}{_MARKED}[\s,]+{_FILLER}{{0,3}}{_WEAK_ORDERS}"
        ),
    ),
    (
        "ignore_instructions",
        re.compile(
            r"(?i)\b(?:your\s+new\s+(?:instructions|task|rules)\s+(?:are|is)|from\s+now\s+on,?\s+you\s+"
            r"(?:will|must|shall)\s+(?:ignore|not\s+follow|disregard)|new\s+(?:system\s+prompt|instructions)\s*:|"
            r"\[?\s*system\s*(?:override|message)\s*\]?\s*:)"
        ),
    ),
    (
        "ignore_instructions",
        re.compile(
            r"(?i)\b(?:ignore|disregard|forget)\s+(?:all\s+(?:of\s+)?)?(?:the\s+|everything\s+)?"
            r"(?:above|before|said\s+before|previously\s+said)(?=\s*(?:and\b|,|\.|;|:|!|$))"
        ),
    ),
    (
        "reveal_system_prompt",
        re.compile(
            r"(?i)\b(?:reveal|show|print|display|output|repeat|tell|give|leak|dump|share|spell\s+out|"
            r"recite|write\s+out|what\s+(?:is|are|was|were))\s+(?:out\s+)?(?:me\s+|us\s+)?(?:what\s+)?(?:back\s+)?"
            r"(?:(?:your|the|its|all|of|exact|full|entire|original|complete|hidden|secret|initial|verbatim|"
            r"contents?|text)\s+){1,5}"
            r"(?:system\s+(?:prompt|message|instructions)|(?:hidden|initial|original|secret|developer|pre-?prompt)"
            r"\s+(?:instructions|prompt|rules)|instructions\s+you\s+were\s+given|prompt\s+above|"
            r"(?:text|words|everything)\s+above)"
        ),
    ),
    (
        "reveal_system_prompt",
        re.compile(
            r"(?i)\b(?:repeat|print|output)\s+(?:everything|all|the\s+text|the\s+words)\s+"
            r"(?:above|before\s+this|starting\s+with\s+['\"]?you\s+are)"
        ),
    ),
    (
        "role_play",
        re.compile(
            r"(?i)(?:(?-i:\bDAN\b)(?=.{0,80}\b(?:mode|anything|jailbreak|now|restrictions?|rules|stay|free|"
            r"confines)\b)|\byou\s+are\s+(?:now\s+)?(?-i:DAN)\b|"
            r"\bdo\s+anything\s+now\b|"
            # "developer mode" is also a phone's setting: only when the text goes on to address the model
            r"\b(?:developer|god|jailbreak|unrestricted|unfiltered|evil)\s+mode\b(?=[^\n]{0,80}\b(?:you|your|"
            r"answer|respond|reply|without|unrestricted|uncensored|no\s+(?:rules|filters|restrictions))\b)|"
            r"\bjailbr(?:oken|eak)\b(?=.{0,60}\b(?:you|mode|version|yourself)\b)|"
            r"\byou\s+are\s+(?:no\s+longer|not)\s+(?:bound|restricted|limited)\s+by|"
            r"\b(?:pretend|imagine|act|behave)\s+(?:that\s+)?(?:you\s+are|you're|to\s+be|as(?:\s+if)?)\b"
            r"[^.\n]{0,80}\b(?:no|without|free\s+(?:of|from)|not\s+bound\s+by|ignore|any)\s+"
            r"(?:restrictions|rules|filters|limits|limitations|guidelines|censorship|ethics|morals|policies|"
            r"content\s+polic(?:y|ies)|safety))"
        ),
    ),
)


# Per pattern above, in order: the words (lower case) at least one of which its match contains, and how
# far before and after such a word the match may reach; the pattern runs only in those windows.
_VERBS = ("ignore", "disregard", "forget", "override", "bypass", "skip", "drop", "abandon", "follow", "obey")
_OBJECTS = (
    "restrictions", "rules", "filters", "limits", "limitations", "guidelines", "censorship", "ethics",
    "morals", "polic", "safety",
)  # fmt: skip
_TRIGGERS: tuple[tuple[tuple[str, ...], int, int], ...] = (
    (_VERBS, 16, 300),
    (_VERBS, 16, 300),
    (("new instructions", "new task", "new rules", "new system", "from now on", "system"), 40, 160),
    (("ignore", "disregard", "forget"), 2, 80),
    (("system", "instructions", "prompt", "rules", "above"), 250, 60),
    (("repeat", "print", "output"), 2, 150),
    (
        ("dan", "anything now", " mode", "jailbr", "bound by", "restricted by", "limited by", *_OBJECTS),
        250,
        200,
    ),
)


def find_injection(text: str) -> list[Finding]:
    """The prompt-injection patterns in ``text``, by position."""
    found = find_hidden(text)
    short = len(text) < _SHORT
    if not text or (short and not _PREFILTER.search(text)):
        return found
    lower = None if short else lowered(text)
    whole = [(0, len(text))]
    for (kind, pattern), (words, before, after) in zip(_PATTERNS, _TRIGGERS, strict=True):
        spans = whole if lower is None else word_windows(text, lower, words, before, after)
        found.extend(Finding(kind, m.start(), m.end()) for m in finditer(pattern, text, spans))
    return without_overlaps(found) if len(found) > 1 else found
