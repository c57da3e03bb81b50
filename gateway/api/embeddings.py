"""POST /v1/embeddings, served in-process by the platform's embedding model.

The model is the one ingestion embeds chunks with (``genai.embedding.shared.encoder_for``), so a vector
from this endpoint equals the one stored for the same text. Loading it imports torch and takes seconds, so
it happens off the event loop: in a background thread started after startup, or on the first request,
whichever comes first. Encoding runs in a worker thread too; the event loop keeps serving completions.

Model names are those in ``gateway.embedding_models``. Any other routed model is passed to the router,
which forwards the client's body to the model's upstreams (vLLM pooling workers, OpenAI, Azure...) with
the same retries, fallback and deadline as a completion; an upstream kind without an embeddings API
(Anthropic) is skipped, and a model served only by such kinds gets a 400 that says so.
"""

from __future__ import annotations

import base64
import logging
import threading
from typing import TYPE_CHECKING, Any, cast

import anyio.to_thread
import numpy as np
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from gateway.api.body import read_body
from gateway.api.exchange import exchange_of
from gateway.api.generate import client_left, routed_context, unknown_model, unless_client_leaves
from gateway.api.openapi import body_schema
from gateway.api.responses import json_response
from gateway.api.route import DirectRoute
from gateway.api.state import gateway_state
from gateway.errors import InvalidRequest, NoHealthyUpstream
from gateway.gc_tuning import freeze_startup_objects
from gateway.protocol.common import error_responses
from gateway.protocol.embeddings import EmbeddingInput, EmbeddingRequest, EmbeddingResponse

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from genai.embedding.encoder import Encoder
    from genai.settings import EmbeddingSettings

logger = logging.getLogger("genai.gateway.embeddings")

MAX_INPUTS = 2048  # OpenAI's own limit per request


class EmbeddingService:
    """The platform's encoder and its tokenizer (for usage counts), loaded once, on first need."""

    def __init__(self, embedding: EmbeddingSettings, names: list[str]) -> None:
        self.settings = embedding
        self.names = frozenset(names)
        self._lock = threading.Lock()
        self._loaded: tuple[Encoder, Tokenizer] | None = None

    def serves(self, model: str) -> bool:
        return model in self.names

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    def warm_up(self) -> threading.Thread:
        """Load the model in a daemon thread; a failure is logged and retried by the first request."""

        def load() -> None:
            try:
                self._load()
            except Exception:
                logger.exception("the embedding model %r could not be loaded", self.settings.model)
                return
            # torch and the model leave hundreds of thousands of long-lived objects: keep them out of
            # every later full collection.
            freeze_startup_objects()

        thread = threading.Thread(target=load, name="embedding-warm-up", daemon=True)
        thread.start()
        return thread

    def _load(self) -> tuple[Encoder, Tokenizer]:
        loaded = self._loaded
        if loaded is not None:
            return loaded
        with self._lock:
            if self._loaded is None:
                from genai.embedding.shared import encoder_for
                from genai.embedding.tokenizer import load_tokenizer

                self._loaded = (encoder_for(self.settings), load_tokenizer(self.settings.model))
                logger.info("embedding model %r loaded", self.settings.model)
            return self._loaded

    def embed(self, texts: list[str], dimensions: int | None = None) -> tuple[np.ndarray, int]:
        """Vectors (float32, one row per text, as ingestion stores them) and the prompt tokens counted.

        Blocking: call it from a worker thread.
        """
        try:
            encoder, tokenizer = self._load()
        except Exception as error:
            raise NoHealthyUpstream(
                f"The embedding model could not be loaded: {error}", code="embedding_model_unavailable"
            ) from error
        if dimensions is not None and dimensions != encoder.dim:
            raise InvalidRequest(
                f"dimensions={dimensions} is not supported: this model's vectors have {encoder.dim} "
                "dimensions and cannot be shortened.",
                param="dimensions",
            )
        vectors = encoder.encode(texts)
        # The model sees special tokens and truncates at its limit; usage counts what it actually read.
        limit = encoder.max_seq_length
        tokens = sum(min(len(encoding.ids), limit) for encoding in tokenizer.encode_batch(texts))
        return vectors, tokens


router = APIRouter(tags=["embeddings"], route_class=DirectRoute)


@router.post(
    "/v1/embeddings",
    summary="Create embeddings",
    response_model=None,
    openapi_extra=body_schema(EmbeddingRequest),
    responses={
        200: {"model": EmbeddingResponse, "description": "One vector per input, in order."},
        **error_responses(400, 404, 413, 502, 503, 504),
    },
)
async def create_embeddings(request: Request) -> Response:
    """Embed texts with the platform's embedding model, or with a routed model's upstream."""
    exchange = exchange_of(request.scope)
    exchange.endpoint = "embeddings"
    state = gateway_state(request)
    parsed, body = await read_body(request, EmbeddingRequest)
    exchange.model = parsed.model
    if not state.embeddings.serves(parsed.model):
        if not state.router.knows(parsed.model):
            raise unknown_model(state, parsed.model, "embeddings")
        ctx = routed_context(request, exchange, parsed.model, "embeddings", False, parsed.user)
        answer = await unless_client_leaves(request, state.router.embed(ctx, body))
        return client_left(exchange) if answer is None else json_response(answer)
    exchange.served = True
    texts = _texts(parsed.input)
    vectors, tokens = await anyio.to_thread.run_sync(state.embeddings.embed, texts, parsed.dimensions)
    exchange.usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return json_response(
        {
            "object": "list",
            "data": _data(vectors, parsed.encoding_format),
            "model": parsed.model,
            "usage": exchange.usage,
        }
    )


def _texts(value: EmbeddingInput) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not value:
        raise InvalidRequest("'input' must not be empty.", param="input")
    if not all(isinstance(item, str) for item in value):
        raise InvalidRequest(
            "'input' holds token ids: this model takes text only (a string or a list of strings).",
            param="input",
        )
    if len(value) > MAX_INPUTS:
        raise InvalidRequest(
            f"'input' holds {len(value)} texts; at most {MAX_INPUTS} are allowed.", param="input"
        )
    return cast(list[str], value)


def _data(vectors: np.ndarray, encoding_format: str) -> list[dict[str, Any]]:
    if encoding_format == "base64":
        little_endian = vectors.astype("<f4", copy=False)
        return [
            {"object": "embedding", "index": index, "embedding": base64.b64encode(row.tobytes()).decode()}
            for index, row in enumerate(little_endian)
        ]
    # orjson writes numpy rows directly (OPT_SERIALIZE_NUMPY): no list of Python floats in between.
    return [{"object": "embedding", "index": index, "embedding": row} for index, row in enumerate(vectors)]
