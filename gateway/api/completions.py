"""POST /v1/completions (legacy text completions)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from gateway.api.generate import generate
from gateway.api.openapi import body_schema, event_stream
from gateway.api.route import DirectRoute
from gateway.protocol.common import error_responses
from gateway.protocol.completions import CompletionRequest

router = APIRouter(tags=["completions"], route_class=DirectRoute)


@router.post(
    "/v1/completions",
    summary="Create a text completion",
    response_model=None,
    openapi_extra=body_schema(CompletionRequest),
    responses={
        200: {
            "description": "A text completion, or with `stream: true` server-sent events of "
            "text_completion objects ending with `data: [DONE]`.",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Completion"}},
                "text/event-stream": event_stream("Completion"),
            },
        },
        **error_responses(400, 404, 408, 413, 415, 502, 503, 504),
    },
)
async def create_completion(request: Request) -> Response:
    """OpenAI's legacy completions, routed like chat completions."""
    return await generate(request, CompletionRequest, "completions")
