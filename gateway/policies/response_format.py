"""The ``response_format`` policy: a chat answer that asked for ``json_object`` or ``json_schema`` is
checked (``gateway.policies.json_answer``); one that fails is asked again, with the failure, up to the
tenant's ``output.json_retries`` times (1 by default), then the request fails.

* ``before`` reads the expected format once; a schema that is no valid JSON schema is a 400 then.
* ``after`` checks every choice's message content (a choice that called a tool instead is not checked).
  A content wrapped in one Markdown code fence is accepted and sent as the bare JSON. On a failure it asks
  the upstream again (``call.upstream``) with the request's messages followed by the invalid answer (as
  the assistant's) and a user message saying what was wrong (e.g. ``at $.age: 'x' is not of type
  'integer'``). The body the client sent is restored for the policies after this one.
* After the last retry fails: 502 ``upstream_error`` with code ``response_format_failed``: the request was
  valid, the model's answer was not (``param: response_format``; the message says where it failed).
* Every attempt's tokens count: ``ctx.usage`` (the usage record, the ledger, the limits' debit) and the
  answer's own ``usage`` are the sums over the attempts; ``ctx.attempts`` counts the router's attempts of
  both; ``ctx.response_retries`` the retries (ledger column ``response_retries``). Guard events:
  ``output:schema:invalid_json|schema_mismatch:retry`` per retry, ``...:block`` when it gives up.
* Streams cannot be asked again once their first event went out: the content is collected as it passes
  and checked at ``[DONE]``; an invalid one gets an error event (code ``response_format_failed``) just
  before ``[DONE]`` and a ``...:flag`` guard event (``call.notes["response_format.invalid"]`` is set, so a
  later policy such as the cache can tell).

The gateway forwards ``response_format`` to the upstream as sent: vLLM uses it for guided decoding, so a
vLLM answer is valid far more often than a free-running model's; the check is what a hosted vendor or a
model without guided decoding needs, and it costs one parse per answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from gateway.errors import UpstreamFailed
from gateway.policies.base import Call, Policy
from gateway.policies.json_answer import PARAM, Expected, Problem, expected_format, parse
from gateway.policies.output_rules import TenantOutputs, count_event
from gateway.sse import DONE, error_event, sse_data

if TYPE_CHECKING:
    from genai.settings import Settings

_EXPECTED = "response_format.expected"
_STREAMED = "response_format.streamed"  # choice index -> the content streamed so far (list of pieces)
INVALID = "response_format.invalid"
RETRY_PROMPT = (
    "Your previous answer does not match the requested response format: {problem}. "
    "Answer again with only the JSON, nothing before or after it."
)


class ResponseFormatPolicy(Policy):
    """Validates JSON answers of chat completions, retrying once (by default) with the error."""

    name: ClassVar[str] = "response_format"

    @classmethod
    def from_settings(cls, settings: Settings | None) -> ResponseFormatPolicy:
        if settings is None:
            from genai.settings import get_settings

            settings = get_settings()
        return cls(settings)

    def __init__(self, settings: Settings) -> None:
        self.outputs = TenantOutputs(settings)

    async def before(self, call: Call) -> None:
        if call.ctx.endpoint == "chat" and "response_format" in call.body:
            expected = expected_format(call.body)
            if expected is not None:
                call.notes[_EXPECTED] = expected
        return None

    def applies(self, call: Call) -> bool:
        return _EXPECTED in call.notes

    async def after(self, call: Call, answer: dict[str, Any]) -> dict[str, Any]:
        expected: Expected | None = call.notes.get(_EXPECTED)
        if expected is None:
            return answer
        retries = self.outputs.rules(call.ctx).json_retries
        sent = call.body
        try:
            for retry in range(retries + 1):
                failed = _check(expected, answer)
                if failed is None:
                    return answer
                content, problem = failed
                if retry == retries:
                    count_event(call.ctx, "schema", problem.kind, "block")
                    raise response_format_failed(problem, retries)
                count_event(call.ctx, "schema", problem.kind, "retry")
                call.ctx.response_retries += 1
                call.body = _retry_body(sent, content, problem)
                answer = await _ask_again(call, answer)
        finally:
            call.body = sent
        return answer  # not reached: the loop returns or raises

    def on_chunk(self, call: Call, event: bytes) -> bytes:
        if not event.endswith(DONE):
            _collect(call, event)
            return event
        if event != DONE:  # a chunk in front of the end marker (another policy's)
            _collect(call, event[: -len(DONE)])
        expected: Expected = call.notes[_EXPECTED]
        for index, pieces in sorted(call.notes.get(_STREAMED, {}).items()):
            _, problem = expected.problem(parse("".join(pieces)))
            if problem is not None:
                count_event(call.ctx, "schema", problem.kind, "flag")
                call.notes[INVALID] = True
                failure = response_format_failed(problem, 0, choice=index)
                return event[: -len(DONE)] + error_event(failure) + DONE
        return event


def _check(expected: Expected, answer: dict[str, Any]) -> tuple[str, Problem] | None:
    """The first choice's content that fails, and why; None when every checked choice is valid (their
    contents then stripped of a code fence)."""
    for choice in answer.get("choices") or ():
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if content is None and message.get("tool_calls"):
            continue  # the model called a tool: there is no answer to check yet
        text = parse(content) if isinstance(content, str) else ""
        _, problem = expected.problem(text)
        if problem is not None:
            return content if isinstance(content, str) else "", problem
        message["content"] = text
    return None


def _retry_body(sent: dict[str, Any], content: str, problem: Problem) -> dict[str, Any]:
    messages = [
        *sent["messages"],
        {"role": "assistant", "content": content},
        {"role": "user", "content": RETRY_PROMPT.format(problem=problem.message)},
    ]
    return {**sent, "messages": messages}


async def _ask_again(call: Call, previous: dict[str, Any]) -> dict[str, Any]:
    """The upstream's answer to ``call.body``, with usage summed over this and the earlier attempts."""
    assert call.upstream is not None, "the chain sets call.upstream before any after hook runs"
    ctx = call.ctx
    spent, started = ctx.usage, ctx.router_started
    answer = await call.upstream(call)
    assert isinstance(answer, dict), "a non-streamed request is answered with a dict"
    if started is not None:
        ctx.router_started = started  # the router's time covers every attempt
    ctx.usage = _sum(spent, ctx.usage)
    if isinstance(answer.get("usage"), dict) or isinstance(previous.get("usage"), dict):
        answer["usage"] = _sum(previous.get("usage"), answer.get("usage"))
    return answer


def _sum(first: dict[str, Any] | None, second: dict[str, Any] | None) -> dict[str, Any] | None:
    if first is None or second is None:
        return second if first is None else first
    total = dict(second)
    for key, value in first.items():
        if isinstance(value, int) and isinstance(second.get(key, 0), int):
            total[key] = value + second.get(key, 0)
    return total


def _collect(call: Call, event: bytes) -> None:
    """Add the content of ``event``'s chunks (one or more SSE frames) to what each choice streamed."""
    for frame in event.split(b"\n\n"):
        data = sse_data(frame) if frame else None
        if not data or not data.startswith(b"{"):
            continue
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            continue
        for choice in payload.get("choices") or ():
            content = (choice.get("delta") or {}).get("content") if isinstance(choice, dict) else None
            if isinstance(content, str) and content:
                streamed = call.notes.setdefault(_STREAMED, {})
                streamed.setdefault(choice.get("index", 0), []).append(content)


def response_format_failed(problem: Problem, retries: int, choice: int | None = None) -> UpstreamFailed:
    after = f" after {retries} {'retry' if retries == 1 else 'retries'}" if retries else ""
    which = f" (choice {choice})" if choice else ""
    return UpstreamFailed(
        f"The model's answer{which} does not match response_format{after}: {problem.message}",
        code="response_format_failed",
        param=PARAM,
    )
