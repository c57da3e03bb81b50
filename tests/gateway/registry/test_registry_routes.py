"""Model names resolved through the registry by a running gateway (real router, real watcher, real HTTP, the
echo upstream serving every version under its own served name): the three reference forms, the canary
share, /v1/models, and settings routes beside the registry."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.routing.registry_routes import canary_bucket
from genai.settings.gateway import GatewaySettings
from genai.settings.registry import RegistrySettings
from tests.fixtures.gateway import CHAT_MODEL, UPSTREAM_MODEL, EchoUpstream
from tests.gateway.registry.conftest import (
    RegistryGateway,
    SnapshotSource,
    gateway_settings,
    snapshot_of,
    spec,
    start_gateway,
    wait_for,
)


def qa_snapshot(echo_url: str) -> SnapshotSource:
    versions = {n: spec("openai", base_url=echo_url, served_model=f"echo-v{n}") for n in (1, 2, 3)}
    source = SnapshotSource()
    source.snapshot = snapshot_of(
        {
            "qa": (versions, {"champion": 2, "challenger": 3, "previous-champion": 1}),
            "draft": ({1: spec("openai", base_url=echo_url, served_model="echo-draft")}, {}),
            # A registered name that a settings route also has: the registry wins.
            CHAT_MODEL: ({1: spec("openai", base_url=echo_url, served_model="echo-shadow")}, {"champion": 1}),
        }
    )
    return source


@pytest.fixture
def gateway(tmp_path: Path, echo_upstream: EchoUpstream) -> Iterator[RegistryGateway]:
    source = qa_snapshot(echo_upstream.url)
    settings = gateway_settings(tmp_path, echo_upstream.url)
    with start_gateway(settings, source, RegistrySettings(poll_seconds=0.1, canary={"qa": 0.3})) as gateway:
        yield gateway


@pytest.mark.parametrize(
    ("model", "version", "served"),
    [
        ("qa/1", "qa/1", "echo-v1"),
        ("qa@previous-champion", "qa/1", "echo-v1"),
        ("qa@challenger", "qa/3", "echo-v3"),
        ("qa/2", "qa/2", "echo-v2"),
        ("draft/1", "draft/1", "echo-draft"),
    ],
)
def test_pinned_refs_reach_their_version(
    gateway: RegistryGateway, echo_upstream: EchoUpstream, model: str, version: str, served: str
) -> None:
    answer = gateway.chat(model)
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-genai-model-version"] == version
    assert answer.json()["model"] == model  # answered under the name the client asked for
    assert echo_upstream.last()["body"]["model"] == served


def test_bare_name_is_the_champion_outside_the_canary_share(
    gateway: RegistryGateway, echo_upstream: EchoUpstream
) -> None:
    user = next(f"user-{i}" for i in range(1000) if canary_bucket("qa", f"user-{i}") >= 0.3)
    answer = gateway.chat("qa", user=user)
    assert answer.headers["x-genai-model-version"] == "qa/2"
    assert echo_upstream.last()["body"]["model"] == "echo-v2"


def test_canary_share_goes_to_the_challenger_and_sticks_to_each_user(gateway: RegistryGateway) -> None:
    users = [f"user-{i}" for i in range(60)]
    first = {user: gateway.chat("qa", user=user).headers["x-genai-model-version"] for user in users}
    assert set(first.values()) == {"qa/2", "qa/3"}
    expected = {user: "qa/3" if canary_bucket("qa", user) < 0.3 else "qa/2" for user in users}
    assert first == expected
    again = {user: gateway.chat("qa", user=user).headers["x-genai-model-version"] for user in users[:20]}
    assert again == {user: first[user] for user in users[:20]}
    # Pinned refs are never diverted by the canary.
    assert {gateway.chat("qa/2", user=u).headers["x-genai-model-version"] for u in users[:10]} == {"qa/2"}


def test_canary_buckets_give_the_configured_share() -> None:
    keys = [f"client-{i}" for i in range(20_000)]
    share = sum(canary_bucket("qa", key) < 0.1 for key in keys) / len(keys)
    assert 0.09 < share < 0.11
    # Raising the share only adds users: whoever was in at 10 % stays in at 30 %.
    assert all(canary_bucket("qa", key) < 0.3 for key in keys if canary_bucket("qa", key) < 0.1)


def test_without_a_user_the_request_id_picks_the_side(gateway: RegistryGateway) -> None:
    seen = {gateway.chat("qa").headers["x-genai-model-version"] for _ in range(40)}
    assert seen == {"qa/2", "qa/3"}
    for request_id in (f"req-{i}" for i in range(20)):
        versions = {
            gateway.http.post(
                "/v1/chat/completions",
                json={"model": "qa", "messages": [{"role": "user", "content": "hi"}]},
                headers={"x-client-request-id": request_id},
            ).headers["x-genai-model-version"]
            for _ in range(2)
        }
        assert len(versions) == 1


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("qa/9", "no version 9 (versions: 1, 2, 3)"),
        ("draft", "has no champion (aliases set: none)"),
        ("draft@challenger", "has no challenger"),
    ],
)
def test_unknown_version_or_alias_is_a_404_saying_what_exists(
    gateway: RegistryGateway, model: str, message: str
) -> None:
    answer = gateway.chat(model)
    assert answer.status_code == 404
    error = answer.json()["error"]
    assert message in error["message"] and error["code"] == "model_not_found" and error["param"] == "model"


def test_settings_routes_still_serve_names_the_registry_lacks(
    tmp_path: Path, echo_upstream: EchoUpstream
) -> None:
    settings = gateway_settings(tmp_path, echo_upstream.url)
    source = qa_snapshot(echo_upstream.url)
    with start_gateway(settings, source) as gateway:
        # tiny-chat is registered in this snapshot: the registry version answers it.
        shadowed = gateway.chat(CHAT_MODEL)
        assert shadowed.headers["x-genai-model-version"] == f"{CHAT_MODEL}/1"
        assert echo_upstream.last()["body"]["model"] == "echo-shadow"
        # Once it leaves the registry, the settings route serves it again, with no version header.
        source.snapshot = snapshot_of({})
        wait_for(lambda: "x-genai-model-version" not in gateway.chat(CHAT_MODEL).headers, what="fallback")
        answer = gateway.chat(CHAT_MODEL)
        assert answer.status_code == 200
        assert echo_upstream.last()["body"]["model"] == UPSTREAM_MODEL
        assert gateway.chat("qa").status_code == 404


def test_models_lists_registered_models_with_a_champion(gateway: RegistryGateway) -> None:
    listed = {entry["id"]: entry for entry in gateway.http.get("/v1/models").json()["data"]}
    assert listed["qa"]["version"] == 2 and listed["qa"]["kind"] == "openai"
    assert listed["qa"]["aliases"] == {"champion": 2, "challenger": 3, "previous-champion": 1}
    assert listed[CHAT_MODEL]["version"] == 1  # the registered one, listed once
    assert [entry["id"] for entry in gateway.http.get("/v1/models").json()["data"]].count(CHAT_MODEL) == 1
    assert "draft" not in listed  # no champion: nothing a bare name could reach
    assert gateway.http.get("/v1/models/qa").json()["version"] == 2


def test_endpoint_pools_are_shared_by_versions_and_reused_across_snapshots() -> None:
    from gateway.routing.registry_routes import RegistryRoutes

    routes = RegistryRoutes(GatewaySettings(), RegistrySettings(), {}, "http://127.0.0.1:9")
    here = spec("vllm", workers=["http://127.0.0.1:8101/"], served_model="a")
    same = spec("vllm", workers=["http://127.0.0.1:8101"], served_model="b")
    other = spec("vllm", workers=["http://127.0.0.1:8102"], served_model="c")

    async def scenario() -> None:
        routes.use_snapshot(snapshot_of({"m": ({1: here, 2: same}, {})}))
        (first, provider), *rest = list(routes.endpoint_pools())
        assert rest == [] and first.name == "registry:http://127.0.0.1:8101"
        routes.use_snapshot(snapshot_of({"m": ({1: here, 2: same, 3: other}, {})}))
        pools = [pool for pool, _ in routes.endpoint_pools()]
        assert len(pools) == 2 and any(pool is first for pool in pools)  # the same pool, its state kept
        routes.use_snapshot(snapshot_of({"m": ({3: other}, {})}))
        assert [pool.name for pool, _ in routes.endpoint_pools()] == ["registry:http://127.0.0.1:8102"]
        assert len(routes._retired) == 1  # the unused endpoint's connections close after the grace
        await routes.close()
        assert not routes._retired and provider._session is None

    asyncio.run(scenario())


def test_api_key_env_is_read_when_the_pool_is_built(
    tmp_path: Path, echo_upstream: EchoUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyed = spec(
        "openai", base_url=echo_upstream.url, served_model="echo-k", api_key_env="GENAI_TEST_VENDOR_KEY"
    )
    source = SnapshotSource()
    source.snapshot = snapshot_of({"vendor": ({1: keyed}, {"champion": 1})})
    monkeypatch.delenv("GENAI_TEST_VENDOR_KEY", raising=False)
    with start_gateway(gateway_settings(tmp_path, echo_upstream.url), source) as gateway:
        missing = gateway.chat("vendor")
        assert missing.status_code == 503 and "GENAI_TEST_VENDOR_KEY" in missing.json()["error"]["message"]
    monkeypatch.setenv("GENAI_TEST_VENDOR_KEY", "sk-from-the-environment")
    with start_gateway(gateway_settings(tmp_path, echo_upstream.url), source) as gateway:
        assert gateway.chat("vendor").status_code == 200
        assert echo_upstream.last()["headers"]["authorization"] == "Bearer sk-from-the-environment"


def test_refused_references_never_become_metric_labels(gateway: RegistryGateway) -> None:
    assert gateway.chat("qa/424242").status_code == 404
    assert gateway.chat("qa/2").status_code == 200
    metrics = gateway.http.get("/metrics").text
    assert 'model="qa/424242"' not in metrics
    assert 'model="qa/2"' in metrics
