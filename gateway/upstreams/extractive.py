"""The ``extractive`` kind, answered in process: no HTTP, no worker. The answer is the sentence of the
retrieved chunks that best matches the question (``genai.llm.extractive.extractive_answer``), from the
chunks the ``context`` policy retrieved for the request (``ctx.retrieved``).

Answers are OpenAI's chat or text completion objects (or their chunk streams: the assistant role, the
answer in a few pieces, the finish reason, the usage chunk when the client asked for it, ``[DONE]``; the
``context`` policy adds its citations chunk before ``[DONE]``). ``max_tokens`` cuts the answer (then
``finish_reason`` is ``length``); ``n`` repeats it.

Usage counts are *words* (white-space separated), since no model tokenizer exists for this kind:
``prompt_tokens`` is the words of the question plus those of the chunks it read, ``completion_tokens`` the
words of the answer.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson

from gateway.context import RequestContext
from gateway.errors import GatewayError, InvalidRequest
from gateway.question import question_of
from gateway.sse import DONE, sse_frame
from genai.llm.extractive import extractive_answer

NOTHING_FOUND = "The knowledge base has no passage that answers this question."
_STREAM_PIECES = 3


class ContextMissing(GatewayError):
    """500: an extractive version was asked without the ``context`` policy in ``gateway.policies``."""

    status = 500
    type = "server_error"
    code = "context_policy_missing"


def _answer(ctx: RequestContext, body: dict[str, Any]) -> tuple[list[str], str, dict[str, int]]:
    """The answer's words, its finish reason and the usage (in words)."""
    if ctx.endpoint == "embeddings":
        raise InvalidRequest(f"The model '{ctx.model}' is extractive: it has no embeddings.", param="model")
    if ctx.retrieved is None:
        raise ContextMissing(
            f"{ctx.model_version or ctx.model} answers from retrieved chunks: add the context policy to "
            "gateway.policies"
        )
    question = question_of(body)
    passages = [chunk.text for chunk in ctx.retrieved]
    words = (extractive_answer(question, passages) or NOTHING_FOUND).split()
    finish = "stop"
    limit = body.get("max_tokens") or body.get("max_completion_tokens")
    if isinstance(limit, int) and 0 < limit < len(words):
        words, finish = words[:limit], "length"
    n = body.get("n") or 1
    prompt = len(question.split()) + sum(len(text.split()) for text in passages)
    completion = len(words) * n
    usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    return words, finish, usage


def _served(ctx: RequestContext, usage: dict[str, int]) -> None:
    ctx.upstream, ctx.worker, ctx.served_model = "extractive", None, ctx.model_version
    ctx.attempts += 1
    ctx.usage = usage


def complete(ctx: RequestContext, body: dict[str, Any]) -> dict[str, Any]:
    """The whole answer, as OpenAI's chat or text completion object."""
    words, finish, usage = _answer(ctx, body)
    _served(ctx, usage)
    text = " ".join(words)
    chat = ctx.endpoint == "chat"
    choices = [
        {
            "index": index,
            "finish_reason": finish,
            "logprobs": None,
            **({"message": {"role": "assistant", "content": text}} if chat else {"text": text}),
        }
        for index in range(body.get("n") or 1)
    ]
    return {
        "id": f"{'chatcmpl' if chat else 'cmpl'}-{ctx.request_id}",
        "object": "chat.completion" if chat else "text_completion",
        "created": int(time.time()),
        "model": ctx.model,
        "choices": choices,
        "usage": usage,
    }


def stream(ctx: RequestContext, body: dict[str, Any]) -> AsyncIterator[bytes]:
    """The answer as a stream of chunks (errors in the request raise before the first one)."""
    words, finish, usage = _answer(ctx, body)
    _served(ctx, usage)
    options = body.get("stream_options")
    include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
    return _events(ctx, words, finish, usage if include_usage else None, body.get("n") or 1)


def _pieces(words: Sequence[str]) -> list[str]:
    size = max(1, -(-len(words) // _STREAM_PIECES))
    parts = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
    return [part if i == 0 else f" {part}" for i, part in enumerate(parts)]


async def _events(
    ctx: RequestContext, words: list[str], finish: str, usage: dict[str, int] | None, n: int
) -> AsyncIterator[bytes]:
    chat = ctx.endpoint == "chat"
    base = {
        "id": f"{'chatcmpl' if chat else 'cmpl'}-{ctx.request_id}",
        "object": "chat.completion.chunk" if chat else "text_completion",
        "created": int(time.time()),
        "model": ctx.model,
    }

    def event(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        return sse_frame(orjson.dumps({**base, "choices": choices, **extra}))

    def choice(index: int, text: str | None, reason: str | None = None) -> dict[str, Any]:
        if not chat:
            return {"index": index, "text": text or "", "finish_reason": reason, "logprobs": None}
        delta: dict[str, Any] = {} if text is None else {"content": text}
        return {"index": index, "delta": delta, "finish_reason": reason, "logprobs": None}

    try:
        if chat:
            yield event(
                [
                    {"index": i, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
                    for i in range(n)
                ]
            )
        for index in range(n):
            for piece in _pieces(words):
                yield event([choice(index, piece)])
            yield event([choice(index, None, finish)])
        if usage is not None:
            yield event([], usage=usage)
        yield DONE
    finally:
        ctx.router_stopped = time.monotonic()
