"""Fixtures of the registry-routing tests: snapshots built by hand, a gateway that reads them through its
real watcher and router (``SnapshotSource`` stands in for MLflow: the real-MLflow tests are in
test_registry_mlflow.py), and a small knowledge base ingested by the real ingestion flow with the real
embedding model."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx
import pytest

from genai.settings import Settings
from genai.settings.gateway import GatewaySettings
from genai.settings.registry import RegistrySettings
from registry.errors import RegistryUnavailableError
from registry.snapshot import RegisteredModel, RegistrySnapshot, VersionEntry
from registry.spec import ModelSpec
from tests.fixtures.gateway import CHAT_MODEL, UPSTREAM_MODEL, EchoUpstream, ServerThread

KB = "handbook"
# The knowledge base: each document states facts found nowhere else, so a question has one best chunk.
DOCUMENTS = {
    "lighthouse.md": "# Lighthouse Keeping\n\n"
    "The harbour lighthouse is serviced every Tuesday at dawn by the night keeper. "
    "Its lamp burns paraffin from the blue drum in the cellar. "
    "Visitors may climb the tower only on the first Sunday of the month.\n",
    "bakery.md": "# Bakery Schedule\n\n"
    "The sourdough starter is fed at six in the evening with rye flour. "
    "Croissant dough rests overnight in the walk-in fridge before it is laminated. "
    "The bakery closes early on public holidays.\n",
    "orbit.md": "# Satellite Operations\n\n"
    "The weather satellite passes over the ground station eleven times a day. "
    "Telemetry is downlinked on the S-band antenna during each pass. "
    "A safe-mode command is sent when the battery temperature exceeds forty degrees.\n",
}
BEST_DOC = "lighthouse.md"
QUESTION = "When is the harbour lighthouse serviced?"


def spec(kind: str = "openai", **fields: Any) -> ModelSpec:
    return ModelSpec.model_validate({"kind": kind, **fields})


def snapshot_of(models: Mapping[str, tuple[Mapping[int, ModelSpec], Mapping[str, int]]]) -> RegistrySnapshot:
    """A snapshot of ``{name: ({version: spec}, {alias: version})}``."""
    built = {}
    for name, (versions, aliases) in models.items():
        entries = {
            number: VersionEntry(
                name, number, version_spec, tuple(a for a, v in sorted(aliases.items()) if v == number)
            )
            for number, version_spec in versions.items()
        }
        built[name] = RegisteredModel(name, MappingProxyType(entries), MappingProxyType(dict(aliases)))
    return RegistrySnapshot(MappingProxyType(built))


@dataclass
class SnapshotSource:
    """What the gateway's watcher reads on each poll: the current snapshot, or a failure."""

    snapshot: RegistrySnapshot = field(default_factory=RegistrySnapshot.empty)
    failing: bool = False
    polls: int = 0

    def load(self) -> RegistrySnapshot:
        self.polls += 1
        if self.failing:
            raise RegistryUnavailableError("the tracking server at http://127.0.0.1:9 did not answer")
        return self.snapshot


def wait_for(check: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> float:
    """Seconds it took until ``check()`` held; fails after ``timeout``."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - started


def gateway_settings(home: Path, echo_url: str, **gateway: Any) -> Settings:
    """Settings with the static route ``tiny-chat`` -> the echo upstream (as in tests/fixtures)."""
    return Settings(
        home=home,
        gateway=GatewaySettings.model_validate(
            {
                "upstreams": {"echo": {"kind": "openai", "workers": [echo_url], "vllm_metrics": False}},
                "models": {CHAT_MODEL: {"targets": [{"upstream": "echo", "model": UPSTREAM_MODEL}]}},
                **gateway,
            }
        ),
    )


@dataclass
class RegistryGateway:
    url: str
    source: SnapshotSource
    http: httpx.Client

    def chat(self, model: str, content: str = "hello big world", **body: Any) -> httpx.Response:
        payload = {"model": model, "messages": [{"role": "user", "content": content}], **body}
        return self.http.post("/v1/chat/completions", json=payload)

    def registry_up(self) -> float:
        """This gateway's ``genai_gateway_registry_up``: the series labelled with its own registry's URI,
        since other gateways of the test process export theirs from the same process-wide metrics."""
        uri = self.http.get("/readyz").json()["router"]["registry"]["tracking_uri"]
        series = f'genai_gateway_registry_up{{registry="{uri}"}} '
        for line in self.http.get("/metrics").text.splitlines():
            if line.startswith(series):
                return float(line.split()[-1])
        raise AssertionError(f"{series.strip()} not exported")


@contextmanager
def start_gateway(
    settings: Settings, source: SnapshotSource, registry: RegistrySettings | None = None
) -> Iterator[RegistryGateway]:
    """The gateway app (real router and watcher, reading ``source``) served over HTTP, once ready."""
    from gateway.app import create_app
    from gateway.routing.router import Router

    registry = registry or RegistrySettings(poll_seconds=0.1)
    router = Router.from_settings(
        settings.gateway, registry=registry, tracking_uri="http://127.0.0.1:9", load=source.load
    )
    app = create_app(settings, router=router)
    with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        wait_for(lambda: http.get("/readyz").status_code == 200, what="readiness")
        yield RegistryGateway(server.url, source, http)


@pytest.fixture(scope="session")
def knowledge_home(tmp_path_factory: pytest.TempPathFactory, prefect_api_url: str) -> Iterator[Path]:
    """A platform home whose knowledge base ``handbook`` holds DOCUMENTS, ingested by the real flow."""
    from flows.ingest import ingest
    from genai.settings import get_settings

    home = tmp_path_factory.mktemp("kb-home")
    corpus = tmp_path_factory.mktemp("kb-corpus")
    for name, text in DOCUMENTS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GENAI_HOME", str(home))
        get_settings.cache_clear()
        summary = ingest(source=str(corpus), knowledge_base=KB)
        get_settings.cache_clear()
    assert summary.new == len(DOCUMENTS), summary
    yield home


@pytest.fixture
def source() -> SnapshotSource:
    return SnapshotSource()


def echo_spec(served: str, **fields: Any) -> ModelSpec:
    """An openai-kind version served by the echo upstream as ``served``."""
    return spec("openai", served_model=served, **fields)


@pytest.fixture
def echo_url(echo_upstream: EchoUpstream) -> str:
    return echo_upstream.url
