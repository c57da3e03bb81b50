"""The benchmark's corpus: English-looking chunks of a chosen token length drawn from the model's own
vocabulary, so nothing is downloaded and every run on every machine embeds the same texts."""

from __future__ import annotations

import random
from pathlib import Path


def build_corpus(tokenizer_file: Path, n: int, tokens: int, seed: int = 0) -> list[str]:
    """N English-looking chunks of 90-100% of ``tokens`` tokens (special tokens included)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    # BERT-style vocabularies list whole words roughly by frequency: rank gives a Zipf-like draw.
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    words = [w for w, _ in vocab if w.isalpha() and w.isascii() and (len(w) > 1 or w in "ai")]
    weights = [1.0 / (rank + 20) for rank in range(len(words))]
    rng = random.Random(seed)
    drafts = [_draft(rng, words, weights, int(tokens * 1.2)) for _ in range(n)]
    targets = [rng.randint(int(tokens * 0.9), tokens) for _ in range(n)]
    chunks = []
    for draft, encoding, target in zip(drafts, tokenizer.encode_batch(drafts), targets, strict=True):
        content = [
            offsets
            for offsets, special in zip(encoding.offsets, encoding.special_tokens_mask, strict=True)
            if not special
        ]
        keep = max(1, target - tokenizer.num_special_tokens_to_add(is_pair=False))
        chunks.append(draft[: content[min(keep, len(content)) - 1][1]])
    return chunks


def _draft(rng: random.Random, words: list[str], weights: list[float], count: int) -> str:
    """A run of sentences: common words, a few rare compounds and numbers, commas and full stops."""
    picked = rng.choices(words, weights, k=count)
    out: list[str] = []
    start = True
    for word in picked:
        roll = rng.random()
        if roll < 0.06:
            word += rng.choice(words[2000:])  # an unseen compound splits into word pieces, as names do
        elif roll < 0.08:
            word = str(rng.randint(2, 99_999))
        out.append(word.capitalize() if start else word)
        start = False
        roll = rng.random()
        if roll < 0.07:
            out[-1] += "."
            start = True
        elif roll < 0.14:
            out[-1] += ","
    return " ".join(out)
