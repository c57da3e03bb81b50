"""OpenAI's wire format as pydantic models: request bodies, response bodies and stream chunks.

Only data shapes live here; ``gateway.api`` holds the serving logic that uses them.
"""

from gateway.protocol.batches import BatchCreateRequest, BatchList, BatchObject
from gateway.protocol.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ChatMessage
from gateway.protocol.common import ErrorDetail, ErrorResponse, StreamOptions, Usage
from gateway.protocol.completions import Completion, CompletionRequest
from gateway.protocol.embeddings import EmbeddingRequest, EmbeddingResponse
from gateway.protocol.files import FileDeleted, FileList, FileObject
from gateway.protocol.models import Model, ModelList

__all__ = [
    "BatchCreateRequest",
    "BatchList",
    "BatchObject",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionRequest",
    "ChatMessage",
    "Completion",
    "CompletionRequest",
    "EmbeddingRequest",
    "EmbeddingResponse",
    "ErrorDetail",
    "ErrorResponse",
    "FileDeleted",
    "FileList",
    "FileObject",
    "Model",
    "ModelList",
    "StreamOptions",
    "Usage",
]
