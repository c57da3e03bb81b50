"""Embeddings (POST /v1/embeddings): the request and the response."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gateway.protocol.common import Int64, OpenAIRequest, OpenAIResponse, TextsOrTokens

EmbeddingInput = TextsOrTokens


class EmbeddingRequest(OpenAIRequest):
    """The body of POST /v1/embeddings."""

    model: str = Field(description="An embedding model name from GET /v1/models.")
    input: EmbeddingInput = Field(description="A text or a list of texts (token ids are not accepted).")
    encoding_format: Literal["float", "base64"] = Field(
        "float", description="'base64': each vector as the base64 of its little-endian float32 bytes."
    )
    dimensions: Int64 | None = Field(None, ge=1, description="Only the model's own dimension is accepted.")
    user: str | None = None


class Embedding(OpenAIResponse):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class EmbeddingUsage(OpenAIResponse):
    prompt_tokens: int
    total_tokens: int


class EmbeddingResponse(OpenAIResponse):
    """The vectors in the order of the inputs."""

    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage
