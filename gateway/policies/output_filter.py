"""The ``output_filter`` policy: each tenant's content filter (deny terms and patterns, masked or blocking)
and PII redaction on the answers of chat and text completions, JSON and streams alike.

The rules are the tenant's ``output`` settings (``tenants.NAME.output``, else the platform's), compiled
once (``gateway.policies.output_rules``). A tenant with no deny list and ``pii: allow`` costs nothing: its
JSON answers pass one dict lookup and its streams are handed on untouched (``applies`` says no).

What a match does:

* ``mask``: the matched text becomes ``***``; personal data (``pii: redact``) becomes the kernel's
  placeholder (``[EMAIL]``, ``[CARD]``...). The answer is sent otherwise unchanged.
* ``block``, JSON answer: a 400 with code ``content_filtered`` (OpenAI answers a content-policy refusal
  with a 400 too); the message names the rule's kind (``term``, ``pattern``), never the text.
* ``block``, stream: the headers and the text before the match went out already, so every choice ends
  there with ``finish_reason: "content_filter"`` (what OpenAI's own filter sends), later output is
  dropped, the usage chunk and ``[DONE]`` still go out (``gateway.policies.output_stream``).

Every match is a guard event (``output:content:term:mask``, ``output:pii:email:redact``...). Only message
``content`` (chat) and ``text`` (completions) are filtered; tool-call arguments are not (structured data
for the client's code). ``logprobs`` of a choice that was changed, and of every filtered stream, are
dropped: they carry the tokens' text. Listed after the cache, the filter runs on replayed answers too, so a
tenant's rules apply to what another request stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from gateway.errors import InvalidRequest
from gateway.policies.base import Call, Policy
from gateway.policies.output_rules import Blocked, OutputRules, Span, TenantOutputs, count_event
from gateway.policies.output_stream import StreamFilter

if TYPE_CHECKING:
    from genai.settings import Settings

_NOTE = "output_filter.stream"


class OutputFilterPolicy(Policy):
    """Masks, redacts or blocks what a tenant's output rules find in an answer."""

    name: ClassVar[str] = "output_filter"

    @classmethod
    def from_settings(cls, settings: Settings | None) -> OutputFilterPolicy:
        if settings is None:
            from genai.settings import get_settings

            settings = get_settings()
        return cls(settings)

    def __init__(self, settings: Settings) -> None:
        self.outputs = TenantOutputs(settings)

    def _rules(self, call: Call) -> OutputRules | None:
        if call.ctx.endpoint == "embeddings":
            return None
        rules = self.outputs.rules(call.ctx)
        return rules if rules.active else None

    def applies(self, call: Call) -> bool:
        return self._rules(call) is not None

    async def after(self, call: Call, answer: dict[str, Any]) -> dict[str, Any]:
        rules = self._rules(call)
        choices = answer.get("choices")
        if rules is None or not isinstance(choices, list):
            return answer
        chat = call.ctx.endpoint == "chat"
        found: list[Span] = []
        try:
            for choice in choices:
                if isinstance(choice, dict):
                    _filter_choice(rules, choice, chat, found)
        except Blocked as block:
            _count(call, rules, found)
            count_event(call.ctx, "content", block.kind, "block")
            raise content_filtered(block.kind) from None
        _count(call, rules, found)
        return answer

    def on_chunk(self, call: Call, event: bytes) -> bytes:
        stream: StreamFilter | None = call.notes.get(_NOTE)
        if stream is None:
            rules = self._rules(call)
            if rules is None:  # not asked by the chain (applies said no), but cheap to be sure
                return event
            ctx = call.ctx

            def found(span: Span) -> None:
                count_event(ctx, span.check, span.kind, rules.action_of(span))

            def blocked(kind: str) -> None:
                count_event(ctx, "content", kind, "block")

            stream = call.notes[_NOTE] = StreamFilter(rules, ctx.endpoint == "chat", found, blocked)
        return stream.event(event)


def _filter_choice(rules: OutputRules, choice: dict[str, Any], chat: bool, found: list[Span]) -> None:
    holder = choice.get("message") if chat else choice
    key = "content" if chat else "text"
    if not isinstance(holder, dict) or not isinstance(holder.get(key), str):
        return
    text: str = holder[key]
    spans = rules.spans(text)
    if not spans:
        return
    holder[key] = rules.rewrite(text, spans)
    found.extend(spans)
    if choice.get("logprobs") is not None:
        choice["logprobs"] = None


def _count(call: Call, rules: OutputRules, spans: list[Span]) -> None:
    tally: dict[tuple[str, str], int] = {}
    for span in spans:
        tally[span.check, span.kind] = tally.get((span.check, span.kind), 0) + 1
    for (check, kind), count in tally.items():
        action = "redact" if check == "pii" else rules.action
        if not (check == "content" and action == "block"):
            count_event(call.ctx, check, kind, action, count)


def content_filtered(kind: str) -> InvalidRequest:
    return InvalidRequest(
        f"The answer was withheld: it contains content this tenant's output policy blocks ({kind}).",
        code="content_filtered",
    )
