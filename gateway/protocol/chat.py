"""Chat completions (POST /v1/chat/completions): messages by role, content parts, tools, response formats,
and the response and stream-chunk bodies."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

from gateway.protocol.common import Citation, Int64, OpenAIRequest, OpenAIResponse, SamplingRequest, Usage

# --- content parts -------------------------------------------------------------------------------------


class TextPart(OpenAIRequest):
    type: Literal["text"]
    text: str


class ImageUrl(OpenAIRequest):
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(OpenAIRequest):
    type: Literal["image_url"]
    image_url: ImageUrl


class InputAudio(OpenAIRequest):
    data: str
    format: str


class AudioPart(OpenAIRequest):
    type: Literal["input_audio"]
    input_audio: InputAudio


class FilePart(OpenAIRequest):
    type: Literal["file"]
    file: dict[str, Any]


class RefusalPart(OpenAIRequest):
    type: Literal["refusal"]
    refusal: str


class OtherPart(OpenAIRequest):
    """A part type the gateway does not know (vLLM's ``video_url``, say): the upstream judges it."""

    type: str


_PART_TYPES = frozenset({"text", "image_url", "input_audio", "file", "refusal"})


def _part_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    # A ``type`` that is an object or a list is not hashable: it goes to "other", whose ``type: str``
    # rejects it with a 400 that names the field.
    return kind if isinstance(kind, str) and kind in _PART_TYPES else "other"


ContentPart = Annotated[
    Annotated[TextPart, Tag("text")]
    | Annotated[ImagePart, Tag("image_url")]
    | Annotated[AudioPart, Tag("input_audio")]
    | Annotated[FilePart, Tag("file")]
    | Annotated[RefusalPart, Tag("refusal")]
    | Annotated[OtherPart, Tag("other")],
    Discriminator(_part_tag),
]
Content = str | list[ContentPart]

# --- messages ------------------------------------------------------------------------------------------


class FunctionCall(OpenAIRequest):
    name: str
    arguments: str = Field(description="The arguments as a JSON string, as the model wrote them.")


class ToolCall(OpenAIRequest):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class SystemMessage(OpenAIRequest):
    role: Literal["system"]
    content: Content
    name: str | None = None


class DeveloperMessage(OpenAIRequest):
    role: Literal["developer"]
    content: Content
    name: str | None = None


class UserMessage(OpenAIRequest):
    role: Literal["user"]
    content: Content
    name: str | None = None


class AssistantMessage(OpenAIRequest):
    role: Literal["assistant"]
    content: Content | None = None
    refusal: str | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    function_call: FunctionCall | None = Field(None, deprecated=True)


class ToolMessage(OpenAIRequest):
    role: Literal["tool"]
    content: Content
    tool_call_id: str


class FunctionMessage(OpenAIRequest):
    """The deprecated predecessor of tool messages."""

    role: Literal["function"]
    content: str | None
    name: str


ChatMessage = Annotated[
    SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage | FunctionMessage,
    Field(discriminator="role"),
]

# --- tools and response formats ------------------------------------------------------------------------


class FunctionDefinition(OpenAIRequest):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = Field(None, description="A JSON Schema of the arguments.")
    strict: bool | None = None


class Tool(OpenAIRequest):
    type: str = "function"
    function: FunctionDefinition | None = None


class NamedFunction(OpenAIRequest):
    name: str


class NamedToolChoice(OpenAIRequest):
    type: str = "function"
    function: NamedFunction | None = None


class TextFormat(OpenAIRequest):
    type: Literal["text"]


class JsonObjectFormat(OpenAIRequest):
    type: Literal["json_object"]


class JsonSchemaSpec(OpenAIRequest):
    name: str
    description: str | None = None
    json_schema: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None


class JsonSchemaFormat(OpenAIRequest):
    type: Literal["json_schema"]
    json_schema: JsonSchemaSpec


ResponseFormat = Annotated[TextFormat | JsonObjectFormat | JsonSchemaFormat, Field(discriminator="type")]

# --- request -------------------------------------------------------------------------------------------


class ChatCompletionRequest(SamplingRequest):
    """The body of POST /v1/chat/completions."""

    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: Int64 | None = Field(
        None, ge=1, description="Replaces max_tokens in OpenAI's API."
    )
    logprobs: bool | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20)
    response_format: ResponseFormat | None = None
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    metadata: dict[str, str] | None = None


# --- response ------------------------------------------------------------------------------------------


class ResponseMessage(OpenAIResponse):
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCall] | None = None


class ChatChoice(OpenAIResponse):
    index: int
    message: ResponseMessage
    finish_reason: str | None = None
    logprobs: dict[str, Any] | None = None


class ChatCompletion(OpenAIResponse):
    """The body answering a non-streaming chat completion."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None
    citations: list[Citation] | None = Field(
        None,
        description="The chunks retrieved into the prompt (retrieval-augmented models; in a stream, the "
        "last chunk before [DONE], with no choices).",
    )


class ToolCallDelta(OpenAIResponse):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: dict[str, Any] | None = None


class Delta(OpenAIResponse):
    role: Literal["assistant"] | None = None
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class ChunkChoice(OpenAIResponse):
    index: int
    delta: Delta
    finish_reason: str | None = None
    logprobs: dict[str, Any] | None = None


class ChatCompletionChunk(OpenAIResponse):
    """One ``data:`` event of a streaming chat completion; the usage chunk has no choices."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None
    citations: list[Citation] | None = Field(
        None,
        description="The chunks retrieved into the prompt (retrieval-augmented models; in a stream, the "
        "last chunk before [DONE], with no choices).",
    )
