"""Output rules on a stream: text arrives in pieces, and a match may span two of them.

``Holdback`` is one choice's text on its way out. It keeps back the last ``rules.holdback`` characters
(a term's length plus one, or the configured bound for patterns and personal data) and releases only text
that no match still to come can reach into: text further back than that, and never the start of a match
that runs into the kept part (the cut moves back to where such a match starts). What it releases is
rewritten (masked, redacted) or raises ``Blocked``. ``flush`` releases the rest once the choice ends. A
match no longer than the holdback is caught at any split of the text into pieces; the tests check every
split point. ``StreamFilter`` applies it to a stream's SSE events: per choice (``index``), on a chat's
``delta.content`` or a completion's ``text``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from gateway.policies.output_rules import Blocked, OutputRules, Span
from gateway.sse import DONE, sse_frame

# Released text is re-scanned this far back for context (a term right after a letter is no whole word;
# a pattern may look behind).
_CONTEXT = 64
# Scan again only once this much more than the holdback waits: fewer scans, small bursts.
_SLACK = 8

Counter = Callable[[Span], None]


class Holdback:
    """One choice's text: ``feed`` pieces, get back what may go out, ``flush`` at the end."""

    def __init__(self, rules: OutputRules, found: Counter) -> None:
        self.rules = rules
        self.found = found  # called once for every span released (masked or redacted)
        self.context = ""  # the last released characters, as they came (not rewritten)
        self.pending = ""

    def feed(self, piece: str) -> str:
        self.pending += piece
        if len(self.pending) <= self.rules.holdback + _SLACK:
            return ""
        return self._release(final=False)

    def flush(self) -> str:
        return self._release(final=True) if self.pending else ""

    def _release(self, final: bool) -> str:
        text = self.context + self.pending
        start = len(self.context)
        spans = self.rules.spans(text, start)
        cut = len(text) if final else len(text) - self.rules.holdback
        if not final:
            # A match that starts before the cut and runs past it is kept back whole (spans are sorted
            # and do not overlap, so one pass from the end moves the cut far enough).
            for span in reversed(spans):
                if span.start < cut < span.end:
                    cut = span.start
                if span.end <= cut:
                    break
        released = self.rules.rewrite(text, spans, start, cut)
        for span in spans:
            if span.start >= start and span.end <= cut:
                self.found(span)
        self.context = text[max(0, cut - _CONTEXT) : cut]
        self.pending = text[cut:]
        return released


class StreamFilter:
    """A stream's events through the rules. ``event`` takes one ``on_chunk`` event (possibly several SSE
    frames, such as the context policy's citations chunk in front of ``[DONE]``) and returns what to send.

    A blocked match ends every choice there with ``finish_reason: "content_filter"`` and drops all later
    output (the headers went out long ago; what was released before the match is not recalled, and it
    never holds the match). The usage chunk and ``[DONE]`` still go out. ``logprobs`` are dropped from a
    filtered stream: they carry the tokens' text, which would bypass the filter.
    """

    def __init__(self, rules: OutputRules, chat: bool, found: Counter, blocked: Callable[[str], None]):
        self.rules = rules
        self.chat = chat
        self.found = found
        self.on_blocked = blocked
        self.choices: dict[int, Holdback] = {}
        self.finished: set[int] = set()
        self.blocked = False
        self.template: dict[str, Any] = {}  # id, object, created, model of the stream's chunks

    def event(self, event: bytes) -> bytes:
        if event.startswith(b"data: {") and event.count(b"\n\n") == 1:
            return self._frame(event)  # the common case: one chunk
        out = []
        for frame in event.split(b"\n\n"):
            if frame:
                out.append(self._frame(frame + b"\n\n"))
        return b"".join(out)

    def _frame(self, frame: bytes) -> bytes:
        if frame == DONE:
            return self._rest() + frame
        if not frame.startswith(b"data: {"):
            return frame
        try:
            payload = orjson.loads(frame[6:])
        except orjson.JSONDecodeError:
            return frame
        choices = payload.get("choices")
        if not isinstance(choices, list) or not choices or "error" in payload:
            return frame  # the usage chunk, citations, an error event
        if not self.template:
            self.template = {k: payload[k] for k in ("id", "object", "created", "model") if k in payload}
        if self.blocked:
            return b""
        try:
            kept = [c for c in (self._choice(c) for c in choices if isinstance(c, dict)) if c is not None]
        except Blocked as block:
            return self._block(block.kind)
        if not kept:
            return b""
        payload["choices"] = kept
        return sse_frame(orjson.dumps(payload))

    def _choice(self, choice: dict[str, Any]) -> dict[str, Any] | None:
        """The choice with its text rewritten; None when nothing of it is left to send yet."""
        index = choice.get("index", 0)
        holdback = self.choices.get(index)
        if holdback is None:
            holdback = self.choices[index] = Holdback(self.rules, self.found)
        holder: dict[str, Any] = (choice.get("delta") or {}) if self.chat else choice
        piece = holder.get("content") if self.chat else holder.get("text")
        released = holdback.feed(piece) if isinstance(piece, str) and piece else ""
        if choice.get("finish_reason") is not None:
            released += holdback.flush()
            self.finished.add(index)
        if "logprobs" in choice:
            choice["logprobs"] = None
        if self.chat:
            delta = dict(holder)
            if "content" in delta or released:
                delta["content"] = released
            choice["delta"] = delta
            empty = all(key == "content" and not value for key, value in delta.items())
        else:
            choice["text"] = released
            empty = not released
        return None if empty and choice.get("finish_reason") is None else choice

    def _rest(self) -> bytes:
        """What is still held when the stream ends without a choice's finish reason (it broke)."""
        if self.blocked:
            return b""
        try:
            rest = {index: hold.flush() for index, hold in self.choices.items() if index not in self.finished}
        except Blocked as block:
            return self._block(block.kind)
        choices = [self._piece(index, text) for index, text in rest.items() if text]
        return sse_frame(orjson.dumps({**self.template, "choices": choices})) if choices else b""

    def _piece(self, index: int, text: str, finish: str | None = None) -> dict[str, Any]:
        if self.chat:
            delta = {"content": text} if text else {}
            return {"index": index, "delta": delta, "finish_reason": finish}
        return {"index": index, "text": text, "finish_reason": finish}

    def _block(self, kind: str) -> bytes:
        self.blocked = True
        self.on_blocked(kind)
        indexes = sorted(set(self.choices) - self.finished) or [0]
        choices = [self._piece(index, "", "content_filter") for index in indexes]
        return sse_frame(orjson.dumps({**self.template, "choices": choices}))
