"""Settings of what one request or one connection may take from the gateway (``gateway.request_limits``).

Each bound keeps one hostile or broken client from holding the event loop, the memory or the embedding
model: the size and count of what a body may hold (checked before it is validated, so validation costs at
most what these allow), the time a client may take to send its request, and the work an in-process
embedding request may ask for. docs/gateway.md, "Limits and hostile input", lists each with its answer.
"""

from __future__ import annotations

from pydantic import Field

from genai.settings.section import SettingsSection


class RequestLimits(SettingsSection):
    """Bounds on one request and one connection; every default is far above what a legitimate client sends."""

    max_messages: int = Field(2048, ge=1, description="Chat messages in one request.")
    max_content_parts: int = Field(
        4096,
        ge=1,
        description="Content parts (text, image, audio...) in all messages of a request together.",
    )
    max_tool_calls: int = Field(1024, ge=1, description="Tool calls in all assistant messages together.")
    max_tools: int = Field(128, ge=1, description="Tools one request may offer (OpenAI's own limit).")
    max_stop: int = Field(16, ge=1, description="Stop sequences in one request.")
    max_inputs: int = Field(
        2048, ge=1, description="Texts (or token-id lists) in one embeddings `input` or completions `prompt`."
    )
    max_token_ids: int = Field(
        262_144, ge=1, description="Token ids in all token-id prompts or inputs of one request together."
    )
    max_map_entries: int = Field(1024, ge=1, description="Entries in `logit_bias` or `metadata`.")
    max_model_name: int = Field(256, ge=1, description="Characters in a requested model name.")
    max_header_bytes: int = Field(
        64 * 1024, ge=1024, description="The request line and headers together; larger heads get 431."
    )
    header_timeout_seconds: float = Field(
        20.0, gt=0, description="Time a client has to send the request line and headers (408 after)."
    )
    body_timeout_seconds: float = Field(
        60.0,
        gt=0,
        description="Time a client has to send the body once its headers arrived (408 after).",
    )
    keep_alive_seconds: int = Field(
        5, ge=1, description="An idle keep-alive connection is closed after this."
    )
    max_connections: int = Field(
        2048, ge=1, description="Open connections and requests in progress; a request past it gets 503."
    )
    embedding_max_tokens: int = Field(
        32_768,
        ge=1,
        description="Tokens the in-process embedding model may read for one request (each input counted "
        "after the model's own truncation); a request over it gets 400.",
    )
    embedding_max_in_flight: int = Field(
        4, ge=1, description="In-process embedding requests encoding at once; more get 429 with Retry-After."
    )
