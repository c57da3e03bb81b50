"""Fixtures of the cache tests: the real Redis with a key prefix of each test's own (from the limits
tests), a fake embedding upstream (for routed embeddings; the tests that use it say ``test_fake_``), and
cached gateways in front of the echo upstream, each with the usage records it wrote."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.policies import Policy, PolicyChain, UsageRecord
from gateway.policies.cache import CachePolicy
from genai.settings import Settings
from tests.fixtures.gateway import CHAT_MODEL, UPSTREAM_MODEL, EchoUpstream, ServerThread
from tests.gateway.limits.conftest import redis_prefix, redis_url
from tests.gateway.limits.gateway_fixtures import HeaderPrincipalForTests

__all__ = ["redis_prefix", "redis_url"]

ROUTED_EMBED = "routed-embed"


class RecordsForTests(Policy):
    """A usage sink that keeps every record (what the ledger, metrics and limits would get)."""

    name: ClassVar[str] = "test_records"

    def __init__(self) -> None:
        self.records: list[UsageRecord] = []

    def record(self, record: UsageRecord) -> None:
        self.records.append(record)


@dataclass
class FakeEmbedder:
    """What the fake embedding upstream was asked: the inputs of each request."""

    url: str = ""
    asked: list[list[Any]] = field(default_factory=list)


def fake_vector(text: Any) -> list[float]:
    digest = hashlib.sha256(orjson.dumps(text)).digest()
    return [byte / 255 for byte in digest[:4]]


def fake_embedder_app(state: FakeEmbedder) -> Starlette:
    """An OpenAI-style /v1/embeddings: a vector from each input's hash, one prompt token per word."""

    async def embeddings(request: Request) -> Response:
        body = orjson.loads(await request.body())
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        state.asked.append(inputs)
        data = [
            {"object": "embedding", "index": i, "embedding": fake_vector(t)} for i, t in enumerate(inputs)
        ]
        tokens = sum(len(str(text).split()) for text in inputs)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return JSONResponse({"object": "list", "data": data, "model": body["model"], "usage": usage})

    return Starlette(routes=[Route("/v1/embeddings", embeddings, methods=["POST"])])


@pytest.fixture(scope="module")
def fake_embedder() -> Iterator[FakeEmbedder]:
    state = FakeEmbedder()
    with ServerThread(fake_embedder_app(state)) as server:
        state.url = server.url
        yield state


@dataclass
class CachedGateway:
    http: httpx.Client
    policy: CachePolicy
    sink: RecordsForTests

    def record(self, response: httpx.Response) -> UsageRecord:
        """The usage record of ``response`` (written once its answer went out: it may trail a little)."""
        import time

        rid = response.headers["x-request-id"]
        deadline = time.monotonic() + 5
        while True:
            found = [record for record in self.sink.records if record.request_id == rid]
            if found or time.monotonic() > deadline:
                assert len(found) == 1, f"{len(found)} records for request {rid}"
                return found[0]
            time.sleep(0.01)


StartCached = Callable[..., CachedGateway]


def cache_settings(home: Path, echo_url: str, embed_url: str, **sections: Any) -> Settings:
    gateway = {
        "upstreams": {
            "echo": {"kind": "openai", "workers": [echo_url], "vllm_metrics": False},
            "embed": {"kind": "openai", "workers": [embed_url], "vllm_metrics": False},
        },
        "models": {
            CHAT_MODEL: {"targets": [{"upstream": "echo", "model": UPSTREAM_MODEL}]},
            ROUTED_EMBED: {"targets": [{"upstream": "embed", "model": "embed-1"}]},
        },
        "retry": {"attempts": 1},
    }
    return Settings.model_validate({"home": home, "gateway": gateway, **sections})


@pytest.fixture
def start_cached(
    tmp_path: Path, echo_upstream: EchoUpstream, fake_embedder: FakeEmbedder
) -> Iterator[StartCached]:
    """Starts gateways with the principal double, the cache policy and a record sink
    (``start(cache={...}, redis_url=...)``), closed afterwards."""
    from gateway.app import create_app

    fake_embedder.asked.clear()
    homes = itertools.count()
    with ExitStack() as stack:

        def start(**sections: Any) -> CachedGateway:
            home = tmp_path / f"home-{next(homes)}"
            settings = cache_settings(home, echo_upstream.url, fake_embedder.url, **sections)
            policy = CachePolicy.from_settings(settings)
            sink = RecordsForTests()
            chain = PolicyChain([HeaderPrincipalForTests(), policy, sink])
            server = stack.enter_context(ServerThread(create_app(settings, chain=chain)))
            http = stack.enter_context(httpx.Client(base_url=server.url, timeout=60))
            return CachedGateway(http, policy, sink)

        yield start
