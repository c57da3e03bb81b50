"""Groundedness: the share of an answer's sentences that the retrieved context supports.

The rule, lexical and deterministic so that it costs nothing and means the same on every machine:

* the answer is split into sentences at ``.``, ``!``, ``?`` or ``…`` followed by whitespace, and at line
  breaks;
* a sentence's content tokens are its SQuAD-normalised tokens (``answer_metrics.answer_tokens``) minus
  common English stopwords;
* a sentence is supported when at least ``threshold`` (default 0.6) of its distinct content tokens occur
  in one single retrieved chunk (support must come from one passage, not be pieced together from several);
* sentences without content tokens ("Yes.") are left out of the count;
* the score is supported sentences / counted sentences. An empty answer, an answer with no content token,
  or no context at all scores 0.0.

It measures whether the words came from the context, not whether the answer is right; token F1 and the
other answer metrics measure that.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from genai.evaluation.answer_metrics import answer_tokens

DEFAULT_THRESHOLD = 0.6

_SENTENCE_BREAK = re.compile(r"(?<=[.!?\u2026])\s+|\n+")

_STOPWORD_TEXT = """
    a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most my
    myself no nor not now of off on once only or other our ours ourselves out over own same she should so
    some such than that thats the their theirs them themselves then there these they this those through to
    too under until up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves also may might must shall cannot yes"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def split_sentences(text: str) -> list[str]:
    """The non-blank sentences of ``text``."""
    return [part.strip() for part in _SENTENCE_BREAK.split(text) if part.strip()]


def content_tokens(text: str) -> set[str]:
    """The distinct normalised tokens of ``text`` that are not stopwords."""
    return {token for token in answer_tokens(text) if token not in STOPWORDS}


def groundedness(answer: str, contexts: Sequence[str], threshold: float = DEFAULT_THRESHOLD) -> float:
    """The share of the answer's sentences supported by one of ``contexts`` (see the module docstring)."""
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    context_tokens = [set(answer_tokens(context)) for context in contexts]
    counted = supported = 0
    for sentence in split_sentences(answer):
        tokens = content_tokens(sentence)
        if not tokens:
            continue
        counted += 1
        if any(len(tokens & chunk) >= threshold * len(tokens) for chunk in context_tokens):
            supported += 1
    return supported / counted if counted else 0.0
