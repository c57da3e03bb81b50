"""Model listing (GET /v1/models, GET /v1/models/{model})."""

from __future__ import annotations

from typing import Literal

from gateway.protocol.common import OpenAIResponse


class Model(OpenAIResponse):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str
    context_window: int | None = None


class ModelList(OpenAIResponse):
    object: Literal["list"] = "list"
    data: list[Model]
