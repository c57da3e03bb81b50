"""POST /v1/chat/completions."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from gateway.api.generate import generate
from gateway.api.openapi import body_schema, event_stream
from gateway.api.route import DirectRoute
from gateway.protocol.chat import ChatCompletionRequest
from gateway.protocol.common import error_responses

router = APIRouter(tags=["chat"], route_class=DirectRoute)


@router.post(
    "/v1/chat/completions",
    summary="Create a chat completion",
    response_model=None,
    openapi_extra=body_schema(ChatCompletionRequest),
    responses={
        200: {
            "description": "A chat completion, or with `stream: true` server-sent events of "
            "chat.completion.chunk objects ending with `data: [DONE]`.",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ChatCompletion"}},
                "text/event-stream": event_stream("ChatCompletionChunk"),
            },
        },
        **error_responses(400, 404, 408, 413, 415, 502, 503, 504),
    },
)
async def create_chat_completion(request: Request) -> Response:
    """OpenAI's chat completions, routed to the model's upstreams with retries and fallback."""
    return await generate(request, ChatCompletionRequest, "chat")
