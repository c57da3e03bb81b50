"""Wire models shared by several endpoints: the base classes, usage, errors and sampling parameters.

Request models accept fields they do not declare (vendors add their own: vLLM's ``top_k``, Azure's
``data_sources``...); the API layer validates a body against these models and then forwards the client's
own dict, so undeclared fields reach the upstream untouched. Validation is strict (no "0.5" for a number),
as OpenAI's is: a body that passes here is one an upstream will not reject for its types.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    FailFast,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonDict


class OpenAIRequest(BaseModel):
    """Base of every request body: undeclared fields are kept and passed through."""

    model_config = ConfigDict(extra="allow")


class OpenAIResponse(BaseModel):
    """Base of every response body and stream chunk: upstreams may add fields of their own."""

    model_config = ConfigDict(extra="allow")


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    """The body of every error the gateway answers with."""

    error: ErrorDetail


class PromptTokensDetails(OpenAIResponse):
    cached_tokens: int | None = None


class CompletionTokensDetails(OpenAIResponse):
    reasoning_tokens: int | None = None


class Citation(OpenAIResponse):
    """A retrieved chunk the answer's prompt held (the ``context`` policy): ``index`` is its ``[n]``."""

    index: int
    doc_id: str
    source: str
    title: str
    chunk_no: int
    score: float
    text: str


class Usage(OpenAIResponse):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: CompletionTokensDetails | None = None


class StreamOptions(OpenAIRequest):
    include_usage: bool | None = Field(
        None, description="Send one last chunk with the request's usage (its `choices` is empty)."
    )


# Integers as the JSON parser reads them: beyond 64 bits a JSON integer becomes a float, which a strict
# integer field refuses. The schema says so, so that what it admits is what the gateway accepts.
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
# A token id: no vocabulary is larger than this.
TokenId = Annotated[int, Field(ge=0, le=2**31 - 1)]


class _FailFast(FailFast):
    """Pydantic's ``FailFast``, hashable: typing puts a union's members in a set."""

    __hash__ = object.__hash__


_FAIL_FAST = _FailFast()


def _texts_or_tokens_kind(value: Any) -> str:
    if isinstance(value, list) and value:
        first = value[0]
        if isinstance(first, list):
            return "token_lists"
        if isinstance(first, int) and not isinstance(first, bool):
            return "tokens"
        return "texts"
    return "texts" if isinstance(value, list) else "text"


# A prompt or embedding input. The first item picks the one branch that is validated (a plain union tries
# each in turn, and a long list fails every branch but one item by item); a list stops at its first bad item.
TextsOrTokens = Annotated[
    Annotated[str, Tag("text")]
    | Annotated[list[str], Tag("texts"), _FAIL_FAST]
    | Annotated[list[TokenId], Tag("tokens"), _FAIL_FAST]
    | Annotated[list[Annotated[list[TokenId], _FAIL_FAST]], Tag("token_lists"), _FAIL_FAST],
    Discriminator(_texts_or_tokens_kind),
]

Stop = Annotated[str | list[str] | None, Field(description="Sequences where generation stops.")]
LogitBias = dict[str, Annotated[float, Field(ge=-100, le=100)]]


# What ``_stream_options_need_stream`` checks, said in the schema so that schema-driven clients know it.
_STREAM_OPTIONS_NEED_STREAM: JsonDict = {
    "if": {"required": ["stream_options"], "properties": {"stream_options": {"type": "object"}}},
    "then": {"required": ["stream"], "properties": {"stream": {"const": True}}},
}


class SamplingRequest(OpenAIRequest):
    """Fields that chat and text completions share."""

    model_config = ConfigDict(json_schema_extra=_STREAM_OPTIONS_NEED_STREAM)

    model: str = Field(description="A model name from GET /v1/models.")
    max_tokens: Int64 | None = Field(None, ge=1, description="Most tokens to generate.")
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    n: int | None = Field(None, ge=1, le=128, description="Choices to generate for the prompt.")
    stop: Stop = None
    seed: Int64 | None = None
    presence_penalty: float | None = Field(None, ge=-2, le=2)
    frequency_penalty: float | None = Field(None, ge=-2, le=2)
    logit_bias: LogitBias | None = None
    user: str | None = Field(None, description="The end user, for abuse monitoring and session affinity.")
    knowledge_base: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$",
        description="Retrieve context from this knowledge base (overrides a registered version's); the "
        "answer then carries `citations`. Not an OpenAI field: OpenAI's clients send it in `extra_body`.",
    )
    stream: bool | None = False
    stream_options: StreamOptions | None = None

    @field_validator("stream_options")
    @classmethod
    def _stream_options_need_stream(
        cls, value: StreamOptions | None, info: ValidationInfo
    ) -> StreamOptions | None:
        if value is not None and not info.data.get("stream"):
            raise ValueError("stream_options is only allowed when stream is true")
        return value

    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of the error answers an endpoint may give."""
    described = {
        400: "The body does not follow the schema; `param` names the field.",
        404: "No such model.",
        408: "The body did not arrive within the gateway's body timeout.",
        413: "The body is larger than the gateway accepts.",
        415: "The body is not declared `Content-Type: application/json`.",
        429: "The gateway is serving as many such requests as it allows; retry after `Retry-After` seconds.",
        502: "Every upstream that could serve the model failed.",
        503: "No upstream of the model is up.",
        504: "The request's deadline passed.",
    }
    return {status: {"model": ErrorResponse, "description": described[status]} for status in statuses}
