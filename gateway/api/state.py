"""What every endpoint needs, built once by ``create_app`` and kept on ``app.state.gateway``.

Endpoints read it straight from the request (``gateway_state(request)``) rather than through FastAPI's
dependency injection: a dependency costs a resolution step on every request for an object that never
changes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import Request

from gateway.policies import PolicyChain
from gateway.router_protocol import ModelRouter

if TYPE_CHECKING:
    from gateway.embeddings import EmbeddingService
    from genai.settings.gateway import GatewaySettings


@dataclass
class GatewayState:
    settings: GatewaySettings
    router: ModelRouter
    embeddings: EmbeddingService
    chain: PolicyChain  # the request policies every OpenAI endpoint goes through (gateway.policies)
    created: int = field(default_factory=lambda: int(time.time()))


def gateway_state(request: Request) -> GatewayState:
    state: GatewayState = request.app.state.gateway
    return state
