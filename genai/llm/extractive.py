"""The extractive baseline: an answer made of the passages' sentences that best match the question.

No language model is involved, so the numbers an evaluation gets for it mean something on a machine with no
real LLM, and they are a floor any generating model should beat. A sentence scores the sum of the inverse
document frequencies (over the passages' sentences) of the question's content words it contains, with a
mild preference for passages ranked higher by retrieval; ties go to the shorter sentence, then the earlier
one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

# A sentence ends at ., ! or ? followed by white space, or at a blank line / line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_RANK_PENALTY = 0.1  # each later passage's sentences weigh 1 / (1 + 0.1 * rank)
_STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
    ]
)


def content_words(text: str) -> list[str]:
    """The words of ``text`` that carry meaning: lowercased, stop words and one-letter words left out,
    a plural ``s`` dropped so that "worker" matches "workers"."""
    words = []
    for word in _WORD.findall(text.lower()):
        if len(word) < 2 or word in _STOPWORDS:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.append(word)
    return words


def split_sentences(text: str) -> list[str]:
    """``text``'s sentences, stripped, empty ones left out."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part and part.strip()]


def extractive_answer(question: str, passages: Sequence[str], max_sentences: int = 1) -> str:
    """The ``max_sentences`` sentences of ``passages`` (best ranked first) that best match ``question``,
    in the order they appear in the passages, joined by a space. With no word of the question in any
    sentence, the first sentence of the first passage (retrieval's best guess). ``""`` when there are no
    passages with text."""
    if max_sentences < 1:
        raise ValueError("max_sentences must be at least 1")
    sentences = [
        (rank, position, sentence)
        for rank, passage in enumerate(passages)
        for position, sentence in enumerate(split_sentences(passage))
    ]
    if not sentences:
        return ""
    wanted = set(content_words(question))
    words_of = [set(content_words(sentence)) for _, _, sentence in sentences]
    frequency = {word: sum(word in words for words in words_of) for word in wanted}
    weight = {word: math.log(1 + len(sentences) / count) for word, count in frequency.items() if count}
    scored = []
    for order, ((rank, _, sentence), words) in enumerate(zip(sentences, words_of, strict=True)):
        score = sum(weight.get(word, 0.0) for word in words & wanted) / (1 + _RANK_PENALTY * rank)
        scored.append((-score, len(sentence), order))
    best = sorted(scored)[:max_sentences]
    if best[0][0] == 0:  # nothing matched: fall back on retrieval's own ranking
        return sentences[0][2]
    chosen = sorted(order for score, _, order in best if score < 0)
    return " ".join(sentences[order][2] for order in chosen)
