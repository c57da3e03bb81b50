"""What /v1/files and /v1/batches need, built once by ``create_app``: the settings their catalog reads
(the database URL, the ``batch`` section) and the client of Prefect's REST API; plus the caller's tenant
and the errors these endpoints share.

The catalog (``genai.batch.catalog``) is synchronous SQL and file I/O: every call runs in a worker thread
(``off_loop``), so a slow disk or database never holds the event loop that serves model traffic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.requests import Request

from gateway.api.exchange import exchange_of
from gateway.echo import clip
from gateway.errors import GatewayError, InvalidRequest
from gateway.flow_runs import FlowRunClient, prefect_api_url
from gateway.protocol.common import ErrorResponse
from genai.batch.records import BatchOwner

if TYPE_CHECKING:
    from genai.settings import Settings

R = TypeVar("R")
# A multipart upload carries its form headers and boundaries around the file's bytes.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


class NotFound(GatewayError):
    """404: no such file or batch for this caller (another tenant's is answered the same)."""

    status = 404
    type = "invalid_request_error"
    code = "not_found"


@dataclass
class BatchContext:
    settings: Settings
    runs: FlowRunClient

    @classmethod
    def from_settings(cls, settings: Settings) -> BatchContext:
        prefect = settings.prefect
        return cls(settings, FlowRunClient(prefect_api_url(prefect.api_url, prefect.host, prefect.port)))


def batch_context(request: Request) -> BatchContext:
    context: BatchContext = request.app.state.batch_api
    return context


def tenant_of(request: Request, endpoint: str) -> str:
    """The caller's tenant (``anonymous`` with authentication off); names the endpoint for the record."""
    exchange = exchange_of(request.scope)
    exchange.endpoint = endpoint
    assert exchange.principal is not None  # the middleware set it before the app ran
    return exchange.principal.tenant


def owner_of(request: Request) -> BatchOwner:
    """The caller as a batch's owner: the flow serves the batch with a key of this tier and these models."""
    principal = exchange_of(request.scope).principal
    assert principal is not None  # the middleware set it before the app ran
    models = sorted(principal.models) if principal.models is not None else None
    return BatchOwner(tier=principal.tier, actor=principal.actor, models=models)


def single_query_values(request: Request) -> None:
    """A list's query parameters each come once: FastAPI would quietly take the last of repeated ones,
    serving a request the documented schema (one string each) does not allow."""
    params = request.query_params
    repeated = sorted({name for name in params if len(params.getlist(name)) > 1})
    if repeated:
        raise InvalidRequest(
            f"The query parameter '{clip(repeated[0])}' is given more than once.", param=repeated[0]
        )


def not_found(kind: str, object_id: str, param: str | None = None) -> NotFound:
    return NotFound(f"No such {kind}: '{clip(object_id)}'.", param=param)


async def off_loop(function: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """``function(*args, **kwargs)`` in a worker thread."""
    return await asyncio.to_thread(function, *args, **kwargs)


def upload_limit(settings: Settings) -> int:
    """The body limit of POST /v1/files: a whole file of ``batch.max_file_bytes`` fits, with its form."""
    return max(settings.gateway.max_body_bytes, settings.batch.max_file_bytes + MULTIPART_OVERHEAD_BYTES)


def documented_errors(described: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of an endpoint's error answers (every one is OpenAI's error body)."""
    return {status: {"model": ErrorResponse, "description": text} for status, text in described.items()}
