"""One tenant's output rules, compiled once: deny terms and patterns, PII redaction, and how much text a
stream must hold back for them (``OutputRules``); which tenant gets which (``TenantOutputs``); and the
guard events the output policies add to a request (``count_event``).

A tenant's rules are its ``tenants.NAME.output`` when set, else the platform's ``output``. Matching works on
spans (``Span``: what was found, where): the content filter's terms and patterns and the kernel's PII
detectors (``genai.guards.pii``) each give spans; overlapping ones are resolved to the earliest, then the
longest, so every character is rewritten at most once. A term matches case-insensitively and only as a
whole word or phrase (``bad`` does not match ``badge``); a pattern matches as written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from gateway.policies.usage import GuardEvent

if TYPE_CHECKING:
    from gateway.context import RequestContext
    from genai.settings import Settings
    from genai.settings.output import OutputSettings

MASK = "***"
# Past the longest term, one more character: whether a term is a whole word depends on the next one.
_WORD_LOOKAHEAD = 1


@dataclass(frozen=True, slots=True)
class Span:
    """``text[start:end]`` is a ``kind`` found by ``check`` ("content": "term" or "pattern"; "pii": the
    detector's kind, "email", "card"...)."""

    check: str
    kind: str
    start: int
    end: int


class Blocked(Exception):
    """An answer holds content the tenant's rules block; ``kind`` says which rule ("term", "pattern")."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class OutputRules:
    """The compiled rules of one ``OutputSettings``."""

    def __init__(self, output: OutputSettings) -> None:
        self.action = output.deny_action
        self.terms = _terms_pattern(output.deny_terms)
        self.patterns = tuple(re.compile(pattern) for pattern in output.deny_patterns)
        self.pii_kinds = tuple(output.pii_kinds) if output.pii == "redact" else ()
        self.json_retries = output.json_retries
        longest = max((len(term) for term in output.deny_terms), default=0)
        if self.patterns or self.pii_kinds:
            # Patterns and detectors have no known longest match: the configured bound (and at least
            # every term's length).
            self.holdback = max(output.stream_holdback_chars, longest + _WORD_LOOKAHEAD)
        else:
            self.holdback = longest + _WORD_LOOKAHEAD

    @property
    def active(self) -> bool:
        """Whether these rules change or block anything at all."""
        return self.terms is not None or bool(self.patterns) or bool(self.pii_kinds)

    def spans(self, text: str, start: int = 0) -> list[Span]:
        """What the rules find in ``text`` from ``start`` on (the text before it is context only: a term
        right after a letter there is no whole word), sorted, without overlaps."""
        found: list[Span] = []
        if self.terms is not None:
            found.extend(
                Span("content", "term", m.start(), m.end()) for m in self.terms.finditer(text, start)
            )
        for pattern in self.patterns:
            found.extend(
                Span("content", "pattern", m.start(), m.end())
                for m in pattern.finditer(text, start)
                if m.end() > m.start()
            )
        if self.pii_kinds:
            from genai.guards.pii import find_pii

            found.extend(
                Span("pii", f.kind, f.start, f.end)
                for f in find_pii(text, self.pii_kinds)
                if f.start >= start
            )
        return _without_overlaps(found)

    def rewrite(self, text: str, spans: Sequence[Span], start: int = 0, end: int | None = None) -> str:
        """``text[start:end]`` with the ``spans`` inside it masked or redacted; raises ``Blocked`` when one
        is content the rules block. Spans outside the slice are ignored (the caller holds them back)."""
        stop = len(text) if end is None else end
        parts: list[str] = []
        at = start
        for span in spans:
            if span.start < start or span.end > stop:
                continue
            if span.check == "content" and self.action == "block":
                raise Blocked(span.kind)
            parts.append(text[at : span.start])
            parts.append(MASK if span.check == "content" else _placeholder(text, span))
            at = span.end
        parts.append(text[at:stop])
        return "".join(parts)

    def action_of(self, span: Span) -> str:
        return "redact" if span.check == "pii" else self.action


def _placeholder(text: str, span: Span) -> str:
    """The kernel's placeholder for a PII span (``[EMAIL]``...), whatever form it gives them."""
    from genai.guards.findings import Finding
    from genai.guards.pii import redact

    piece = text[span.start : span.end]
    return redact(piece, [Finding(span.kind, 0, len(piece))])


def _terms_pattern(terms: Sequence[str]) -> re.Pattern[str] | None:
    """One alternation of every term, longest first, as whole words: not inside a longer word on either
    side. Whitespace inside a phrase matches any run of whitespace ("big  world", a line break)."""
    if not terms:
        return None
    unique = sorted({term.casefold() for term in terms}, key=len, reverse=True)
    alternatives = [r"\s+".join(re.escape(word) for word in term.split()) for term in unique]
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


def _without_overlaps(spans: list[Span]) -> list[Span]:
    spans.sort(key=lambda s: (s.start, -(s.end - s.start)))
    kept: list[Span] = []
    for span in spans:
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept


class TenantOutputs:
    """Each tenant's compiled ``OutputRules``: compiled once per configured tenant, and once for the
    platform's default that every other tenant shares (so unknown tenant names add nothing)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.default = OutputRules(settings.output)
        self._tenants: dict[str, OutputRules] = {}
        for name, tenant in settings.tenants.items():
            self._tenants[name] = OutputRules(tenant.output) if tenant.output is not None else self.default

    def rules(self, ctx: RequestContext) -> OutputRules:
        principal = ctx.principal
        tenant = principal.tenant if principal is not None else "anonymous"
        return self._tenants.get(tenant, self.default)


def count_event(ctx: RequestContext, check: str, kind: str, action: str, count: int = 1) -> None:
    """Add a guard event to the request, or raise the count of the same one already there (a stream finds
    its matches piece by piece; the record keeps one event per kind)."""
    events = ctx.guard_events
    for index, event in enumerate(events):
        if (event.stage, event.check, event.kind, event.action) == ("output", check, kind, action):
            events[index] = replace(event, count=event.count + count)
            return
    events.append(GuardEvent(stage="output", check=check, kind=kind, action=action, count=count))
