"""Legacy text completions (POST /v1/completions): the request, the response and its stream chunks."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from gateway.protocol.common import Citation, Int64, OpenAIResponse, SamplingRequest, TextsOrTokens, Usage

Prompt = TextsOrTokens


class CompletionRequest(SamplingRequest):
    """The body of POST /v1/completions."""

    prompt: Prompt = Field(description="Text, texts, or token ids (one list per prompt).")
    suffix: str | None = None
    echo: bool | None = None
    best_of: Int64 | None = Field(None, ge=1)
    logprobs: Int64 | None = Field(None, ge=0, description="Log probabilities of this many likeliest tokens.")


class CompletionChoice(OpenAIResponse):
    index: int
    text: str
    finish_reason: str | None = None
    logprobs: dict[str, Any] | None = None


class Completion(OpenAIResponse):
    """The body answering a text completion; stream chunks have the same shape (and ``usage`` only at
    the end, when the client asked for it)."""

    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None
    citations: list[Citation] | None = Field(
        None,
        description="The chunks retrieved into the prompt (retrieval-augmented models; in a stream, the "
        "last chunk before [DONE], with no choices).",
    )
