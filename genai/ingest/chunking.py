"""Token-aware recursive chunking of normalized document text.

A document is cut first into sections at markdown heading lines (for markdown, HTML and DOCX sources, whose
parsers emit ``#`` headings), then each section into paragraphs, sentences, lines and, for a run of text
with no usable break, token windows. The coarsest pieces that fit are packed greedily into chunks of at most
``chunk_tokens`` tokens; a chunk never crosses a heading, and each later chunk of a section repeats about
``overlap_tokens`` tokens from the end of the previous one.

Every count comes from one tokenization of the whole text: a span's token count is the number of tokens
whose start offset lies inside it, found by bisection, so packing costs no further tokenizer calls.

Default sizes: all-MiniLM-L6-v2 truncates inputs at 256 tokens, [CLS] and [SEP] included, leaving 254 for
text. ``chunk_tokens=240`` stays under that with a margin, so nothing a chunk says is silently cut off at
embedding time; ``check_fits_model`` turns a setting that would be cut into an error.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from itertools import pairwise
from typing import TYPE_CHECKING, NamedTuple

from genai.ingest.records import Chunk, ParsedDocument
from genai.settings import ChunkingSettings

if TYPE_CHECKING:
    from tokenizers import Tokenizer

__all__ = ["check_fits_model", "chunk_document", "chunk_documents"]

Span = tuple[int, int]

# Only these parsers turn source structure into '#' lines; in plain text or PDF a leading '#' is content.
_HEADING_TYPES = frozenset({"markdown", "html", "docx"})
_MARKER = re.compile(
    r"^ {0,3}(?:(?P<hashes>#{1,6})[ \t]+(?P<title>[^\n]*\S)[ \t]*|(?P<fence>```|~~~)[^\n]*)$", re.M
)
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
_LINE_BREAK = re.compile(r"\s*\n\s*")
_NON_SPACE = re.compile(r"\S")
_SAFE_CUT = re.compile(r"[ \n]")
_CLOSING_HASHES = re.compile(r"[ \t]+#+$")
# Unicode escapes keep look-alike quote and full-width marks explicit (and the linter quiet).
_CJK_ENDERS = "\u3002\uff01\uff1f"  # ideographic full stop, full-width exclamation and question marks
_CLOSERS = "\"'\u201d\u2019\u00bb)\\]\u300d\u300f"  # straight and curly closing quotes, brackets
_OPENERS = frozenset("\"'\u201c\u2018\u00ab([")
# Latin enders must be followed by whitespace (so '3.14' and 'e.g.,' never split); CJK enders need none.
_SENTENCE_END = re.compile(f"[.!?\u2026]+[{_CLOSERS}]*(?=\\s)|[{_CJK_ENDERS}]+[{_CLOSERS}]*")
_ABBREVIATIONS = frozenset(
    {
        "e.g.",
        "i.e.",
        "dr.",
        "mr.",
        "mrs.",
        "ms.",
        "prof.",
        "sr.",
        "jr.",
        "st.",
        "vs.",
        "cf.",
        "al.",
        "fig.",
        "figs.",
        "eq.",
        "approx.",
        "inc.",
        "ltd.",
        "corp.",
        "dept.",
        "u.s.",
        "u.k.",
    }
)
# Blocks of this many characters tokenize several times faster than one huge string, and in parallel.
_BLOCK_CHARS = 8192
# Pre-tokenizers that always split at spaces and newlines, so cutting the text there changes no token.
_SPACE_SPLITTING = frozenset({"BertPreTokenizer", "Whitespace", "WhitespaceSplit"})


def check_fits_model(settings: ChunkingSettings, model_max_seq_length: int, special_tokens: int) -> None:
    """Raise ValueError when a full chunk plus the model's special tokens would be truncated by the model."""
    needed = settings.chunk_tokens + special_tokens
    if needed > model_max_seq_length:
        raise ValueError(
            f"chunking.chunk_tokens={settings.chunk_tokens} plus {special_tokens} special tokens is "
            f"{needed}, "
            f"more than the embedding model's max_seq_length={model_max_seq_length}: the model would cut "
            f"the end off full chunks. Set chunking.chunk_tokens to at most "
            f"{model_max_seq_length - special_tokens}."
        )


class _Tokens:
    """Token start offsets of the whole text, and which tokens begin a pre-tokenizer word."""

    def __init__(
        self, starts: list[int], words: list[int | None], block_starts: set[int], ids: list[int] | None
    ) -> None:
        self.starts = starts
        self.words = words  # word ids restart at 0 in every block, hence block_starts
        self.block_starts = block_starts
        self.ids = ids  # token ids in the order of ``starts``; None when the order had to change

    def ids_between(self, start: int, end: int) -> list[int] | None:
        """The token ids of the characters [start, end), as the embedding stage can reuse them."""
        if self.ids is None:
            return None
        return self.ids[bisect_left(self.starts, start) : bisect_left(self.starts, end)]

    def count(self, start: int, end: int) -> int:
        return bisect_left(self.starts, end) - bisect_left(self.starts, start)

    def index(self, pos: int) -> int:
        """The first token starting at or after character ``pos``."""
        return bisect_left(self.starts, pos)

    def is_word_start(self, k: int) -> bool:
        # A cut between two words re-tokenizes identically; a cut inside one ('##' pieces) may not.
        return k in self.block_starts or self.words[k] != self.words[k - 1]

    def best_cut(self, text: str, candidates: range, *, alnum_only: bool = False) -> int | None:
        """The first candidate token that starts a word with a letter or digit (not '.' or ')'), else,
        unless ``alnum_only``, the first that starts any word; None when there is neither."""
        fallback = None
        for k in candidates:
            if self.is_word_start(k):
                if text[self.starts[k]].isalnum():
                    return k
                if fallback is None and not alnum_only:
                    fallback = k
        return fallback


def _block_cuts(text: str) -> list[int]:
    cuts = [0]
    while len(text) - cuts[-1] > 2 * _BLOCK_CHARS:
        target = cuts[-1] + _BLOCK_CHARS
        cut = text.find("\n\n", target, target + _BLOCK_CHARS)
        if cut < 0:
            space = _SAFE_CUT.search(text, target)
            if space is None:
                break
            cut = space.start()
        cuts.append(cut)
    cuts.append(len(text))
    return cuts


def _tokenize(text: str, tokenizer: Tokenizer) -> _Tokens:
    """One pass of the tokenizer over the text, in space-aligned blocks when that cannot change a token."""
    splits_at_spaces = type(tokenizer.pre_tokenizer).__name__ in _SPACE_SPLITTING
    cuts = _block_cuts(text) if splits_at_spaces else [0, len(text)]
    if len(cuts) == 2:
        encodings = [tokenizer.encode(text, add_special_tokens=False)]
    else:
        blocks = [text[a:b] for a, b in pairwise(cuts)]
        encodings = tokenizer.encode_batch(blocks, add_special_tokens=False)
    starts: list[int] = []
    words: list[int | None] = []
    ids: list[int] = []
    block_starts: set[int] = set()
    for base, encoding in zip(cuts, encodings, strict=False):
        block_starts.add(len(starts))
        starts.extend([s + base for s, _ in encoding.offsets])
        words.extend(encoding.word_ids)
        ids.extend(encoding.ids)
    if any(a > b for a, b in pairwise(starts)):
        # Counting needs only the multiset of starts, so sorting keeps every count exact (BERT-style
        # tokenizers never need it); ids no longer line up with the offsets then, so none are offered.
        starts.sort()
        return _Tokens(starts, words, block_starts, None)
    return _Tokens(starts, words, block_starts, ids)


class _Section(NamedTuple):
    start: int
    end: int
    path: list[str]


def _sections(text: str, doc_type: str) -> list[_Section]:
    """Spans that each begin at a heading; a heading with no text of its own joins the section after it."""
    if doc_type not in _HEADING_TYPES:
        return [_Section(0, len(text), [])]
    sections: list[_Section] = []
    stack: list[tuple[int, str]] = []
    start, body_from, in_fence = 0, 0, False
    for match in _MARKER.finditer(text):
        if match["fence"]:
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        if _NON_SPACE.search(text, body_from, match.start()):
            sections.append(_Section(start, match.start(), [title for _, title in stack]))
            start = match.start()
        level = len(match["hashes"])
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, _CLOSING_HASHES.sub("", match["title"])))
        body_from = match.end()
    sections.append(_Section(start, len(text), [title for _, title in stack]))
    return sections


def _trim(text: str, start: int, end: int) -> Span | None:
    first = _NON_SPACE.search(text, start, end)
    if first is None:
        return None
    end_stripped = len(text[first.start() : end].rstrip())
    return first.start(), first.start() + end_stripped


def _split(text: str, span: Span, separator: re.Pattern[str]) -> list[Span]:
    """The non-blank pieces of ``span`` between matches of ``separator``, trimmed of whitespace."""
    pieces: list[Span] = []
    cursor = span[0]
    for match in separator.finditer(text, span[0], span[1]):
        piece = _trim(text, cursor, match.start())
        if piece:
            pieces.append(piece)
        cursor = match.end()
    piece = _trim(text, cursor, span[1])
    if piece:
        pieces.append(piece)
    return pieces


def _is_sentence_break(text: str, match: re.Match[str], span_start: int, next_char: str) -> bool:
    """Whether the ender ``match`` closes a sentence, given the first character after the whitespace."""
    if match.group()[0] in _CJK_ENDERS:
        return True
    # A capital, digit or quote opens a sentence; so does any letter of a script without case (CJK, Hangul).
    if not (next_char in _OPENERS or (next_char.isalnum() and not next_char.islower())):
        return False
    if match.group()[0] != ".":
        return True
    at = match.start()
    before = max(span_start - 1, text.rfind(" ", span_start, at), text.rfind("\n", span_start, at))
    word = text[before + 1 : at + 1].lstrip("".join(_OPENERS)).lower()
    # 'J. Smith': a single capital before the period is an initial, not a sentence end.
    is_initial = len(word) == 2 and text[at - 1].isupper()
    return word not in _ABBREVIATIONS and not is_initial


def _sentences(text: str, span: Span) -> list[Span]:
    """The sentences of ``span``, trimmed; a span with no sentence break is one sentence."""
    sentences: list[Span] = []
    cursor = span[0]
    for match in _SENTENCE_END.finditer(text, span[0], span[1]):
        following = _NON_SPACE.search(text, match.end(), span[1])
        if following is None:
            break
        if not _is_sentence_break(text, match, span[0], text[following.start()]):
            continue
        piece = _trim(text, cursor, match.end())
        if piece:
            sentences.append(piece)
        cursor = following.start()
    piece = _trim(text, cursor, span[1])
    if piece:
        sentences.append(piece)
    return sentences


def _token_windows(text: str, tokens: _Tokens, span: Span, size: int) -> list[Span]:
    """Cut a span with no usable break into runs of at most ``size`` tokens, between words if possible."""
    first, stop = tokens.index(span[0]), tokens.index(span[1])
    windows: list[Span] = []
    window_start = span[0]
    while stop - first > size:
        best = tokens.best_cut(text, range(first + size, first + size // 2, -1))
        cut = best if best is not None else first + size
        end = tokens.starts[cut]
        windows.append((window_start, window_start + len(text[window_start:end].rstrip())))
        window_start, first = end, cut
    windows.append((window_start, span[1]))
    return windows


def _units(text: str, tokens: _Tokens, section: Span, limit: int) -> list[Span]:
    """The coarsest pieces of a section (paragraphs, else sentences, else lines, else token windows) that
    hold at most ``limit`` tokens each, in text order."""
    units: list[Span] = []
    for paragraph in _split(text, section, _PARAGRAPH_BREAK):
        if tokens.count(*paragraph) <= limit:
            units.append(paragraph)
            continue
        for sentence in _sentences(text, paragraph):
            if tokens.count(*sentence) <= limit:
                units.append(sentence)
                continue
            for line in _split(text, sentence, _LINE_BREAK):
                if tokens.count(*line) <= limit:
                    units.append(line)
                else:
                    units.extend(_token_windows(text, tokens, line, limit))
    return units


def _overlap_start(text: str, tokens: _Tokens, units: list[Span], previous: Span, budget: int) -> int | None:
    """Where the next chunk starts so it repeats at most ``budget`` tokens from the end of ``previous``."""
    if budget <= 0:
        return None
    start, end = previous

    def fits(pos: int) -> bool:
        return tokens.count(pos, end) <= budget

    # Token counts from a break to the chunk end only fall as the break moves right: bisect on the first fit.
    lo = bisect_right(units, (start, len(text)))
    hi = bisect_left(units, (end, 0))
    at = bisect_left(units, True, lo, hi, key=lambda unit: fits(unit[0]))
    best = units[at][0] if at < hi else None
    # Only the unit straddling the budget can hold an earlier fitting break; split its sentences on demand.
    if at > 0:
        for sentence_start, _ in _sentences(text, units[at - 1]):
            if start < sentence_start < end and fits(sentence_start):
                best = sentence_start
                break
    if best is not None and 2 * tokens.count(best, end) >= budget:
        return best
    return _token_overlap_start(text, tokens, previous, budget)


def _token_overlap_start(text: str, tokens: _Tokens, previous: Span, budget: int) -> int | None:
    """The start of the last ``budget`` tokens of ``previous``, moved right to a word start if needed."""
    first, stop = tokens.index(previous[0]), tokens.index(previous[1])
    k = max(stop - budget, first + 1)
    if k >= stop:
        return None
    # Moving right only shortens the overlap. No overlap beats one opening mid-word (which may re-tokenize
    # differently) or on a lone punctuation mark.
    best = tokens.best_cut(text, range(k, stop), alnum_only=True)
    return tokens.starts[best] if best is not None else None


def _pack(text: str, tokens: _Tokens, units: list[Span], settings: ChunkingSettings) -> list[Span]:
    """Greedy packing of units into chunk spans, each later one opening with the previous one's tail."""
    limit = settings.chunk_tokens
    chunks: list[Span] = []
    current: Span | None = None
    for unit_start, unit_end in units:
        if current is None:
            current = (unit_start, unit_end)
        elif tokens.count(current[0], unit_end) <= limit:
            current = (current[0], unit_end)
        else:
            chunks.append(current)
            budget = min(settings.overlap_tokens, limit - tokens.count(current[1], unit_end))
            overlap = _overlap_start(text, tokens, units, current, budget)
            current = (overlap if overlap is not None else unit_start, unit_end)
    if current is not None:
        chunks.append(current)
    return chunks


def chunk_document(
    doc: ParsedDocument, tokenizer: Tokenizer, settings: ChunkingSettings, keep_token_ids: bool = False
) -> list[Chunk]:
    """Cut a parsed document's text into chunks of at most ``settings.chunk_tokens`` tokens.

    Chunk texts are exact slices ``doc.text[start:end]``; ``token_count`` counts the tokenizer's tokens in
    that slice (no special tokens). Whitespace-only text gives no chunks. With ``keep_token_ids`` each chunk
    carries its token ids, so a GPU embedding stage need not tokenize again.
    """
    text = doc.text
    if not _NON_SPACE.search(text):
        return []
    tokens = _tokenize(text, tokenizer)
    unit_limit = settings.chunk_tokens - settings.overlap_tokens
    chunks: list[Chunk] = []
    for section in _sections(text, doc.type):
        units = _units(text, tokens, (section.start, section.end), unit_limit)
        for start, end in _pack(text, tokens, units, settings):
            chunks.append(
                Chunk(
                    doc_id=doc.doc_id,
                    chunk_no=len(chunks),
                    text=text[start:end],
                    start=start,
                    end=end,
                    token_count=tokens.count(start, end),
                    heading_path=section.path,
                    token_ids=tokens.ids_between(start, end) if keep_token_ids else None,
                )
            )
    return chunks


def chunk_documents(
    docs: Iterable[ParsedDocument], tokenizer: Tokenizer, settings: ChunkingSettings
) -> list[Chunk]:
    """Chunks of every document, in document order; each document's ``chunk_no`` starts at 0."""
    return [chunk for doc in docs for chunk in chunk_document(doc, tokenizer, settings)]
