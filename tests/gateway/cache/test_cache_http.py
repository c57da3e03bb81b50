"""The cache policy through a gateway in front of the echo upstream: hit and miss headers, what is and
is not cached, tenants kept apart, streams replayed as first sent, the usage record and ledger fields of
a hit, and embeddings cached per input (the routed ones against a fake embedding upstream: ``test_fake_``;
the in-process ones with the real embedding model)."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from gateway.accounting.pricing import saved_cost_of
from gateway.accounting.rows import usage_row
from genai.settings import AccountingSettings
from tests.fixtures.gateway import CHAT_MODEL, USER, EchoUpstream
from tests.gateway.cache.conftest import ROUTED_EMBED, FakeEmbedder, StartCached, fake_vector
from tests.gateway.limits.gateway_fixtures import caller

GREEDY: dict[str, Any] = {"model": CHAT_MODEL, "messages": USER, "temperature": 0}


def test_a_repeated_greedy_request_is_answered_from_the_cache(
    start_cached: StartCached, echo_upstream: EchoUpstream
) -> None:
    gateway = start_cached()
    first = gateway.http.post("/v1/chat/completions", json=GREEDY)
    second = gateway.http.post("/v1/chat/completions", json=GREEDY)
    assert first.status_code == second.status_code == 200
    assert first.headers["x-genai-cache"] == "miss"
    assert second.headers["x-genai-cache"] == "hit"
    assert second.json() == first.json()  # the original usage included
    assert len(echo_upstream.requests) == 1
    miss, hit = gateway.record(first), gateway.record(second)
    assert (miss.cache_level, miss.cache_hit) == ("miss", False)
    assert (hit.cache_level, hit.cache_hit) == ("l1", True)
    assert hit.prompt_tokens is None and hit.completion_tokens is None  # nothing spent
    assert hit.saved_prompt_tokens == miss.prompt_tokens == 3
    assert hit.saved_completion_tokens == miss.completion_tokens == 4


def test_the_ledger_row_of_a_hit_carries_the_tokens_and_cost_saved(start_cached: StartCached) -> None:
    gateway = start_cached()
    gateway.http.post("/v1/chat/completions", json=GREEDY)
    hit = gateway.record(gateway.http.post("/v1/chat/completions", json=GREEDY))
    prices = {CHAT_MODEL: {"input_per_1m": 1.0, "output_per_1m": 2.0}}
    accounting = AccountingSettings.model_validate({"prices": prices})
    saved = saved_cost_of(hit, accounting)
    assert saved is not None and abs(saved - (3 * 1.0 + 4 * 2.0) / 1e6) < 1e-12
    row = usage_row(hit, 0.0, None, saved)
    assert (row["cache_hit"], row["cache_level"], row["saved_tokens"]) == (True, "l1", 7)
    assert row["saved_cost_usd"] == saved


def test_sampled_requests_are_not_cached_unless_opted_in(
    start_cached: StartCached, echo_upstream: EchoUpstream
) -> None:
    gateway = start_cached()
    sampled = {**GREEDY, "temperature": 0.7}
    answers = [gateway.http.post("/v1/chat/completions", json=sampled) for _ in range(2)]
    assert all("x-genai-cache" not in answer.headers for answer in answers)
    assert len(echo_upstream.requests) == 2
    assert gateway.record(answers[1]).cache_level is None
    opt_in = {"x-genai-cache-opt-in": "true"}
    first = gateway.http.post("/v1/chat/completions", json=sampled, headers=opt_in)
    second = gateway.http.post("/v1/chat/completions", json=sampled, headers=opt_in)
    assert (first.headers["x-genai-cache"], second.headers["x-genai-cache"]) == ("miss", "hit")
    seeded = {**sampled, "seed": 3}
    gateway.http.post("/v1/chat/completions", json=seeded)
    assert gateway.http.post("/v1/chat/completions", json=seeded).headers["x-genai-cache"] == "hit"
    assert len(echo_upstream.requests) == 4


def test_tenants_never_see_each_others_answers(
    start_cached: StartCached, echo_upstream: EchoUpstream
) -> None:
    gateway = start_cached()
    acme = gateway.http.post("/v1/chat/completions", json=GREEDY, headers=caller("acme"))
    globex = gateway.http.post("/v1/chat/completions", json=GREEDY, headers=caller("globex"))
    again = gateway.http.post("/v1/chat/completions", json=GREEDY, headers=caller("acme"))
    assert (acme.headers["x-genai-cache"], globex.headers["x-genai-cache"]) == ("miss", "miss")
    assert again.headers["x-genai-cache"] == "hit"
    assert len(echo_upstream.requests) == 2


@pytest.mark.parametrize("directive", ["no-cache", "max-age=0, no-store"])
def test_cache_control_no_cache_neither_reads_nor_stores(
    start_cached: StartCached, echo_upstream: EchoUpstream, directive: str
) -> None:
    gateway = start_cached()
    bypass = {"cache-control": directive}
    first = gateway.http.post("/v1/chat/completions", json=GREEDY, headers=bypass)
    assert first.status_code == 200 and "x-genai-cache" not in first.headers
    assert gateway.http.post("/v1/chat/completions", json=GREEDY).headers["x-genai-cache"] == "miss"
    again = gateway.http.post("/v1/chat/completions", json=GREEDY, headers=bypass)
    assert "x-genai-cache" not in again.headers and len(echo_upstream.requests) == 3


def test_a_tenant_with_cache_off_is_never_cached_while_others_are(
    start_cached: StartCached, echo_upstream: EchoUpstream
) -> None:
    gateway = start_cached(tenants={"globex": {"cache": False}})
    for _ in range(2):
        off = gateway.http.post("/v1/chat/completions", json=GREEDY, headers=caller("globex"))
        assert off.status_code == 200 and "x-genai-cache" not in off.headers
    assert len(echo_upstream.requests) == 2
    gateway.http.post("/v1/chat/completions", json=GREEDY, headers=caller("acme"))
    acme = gateway.http.post("/v1/chat/completions", json=GREEDY, headers=caller("acme"))
    assert acme.headers["x-genai-cache"] == "hit" and len(echo_upstream.requests) == 3


def test_the_user_field_is_not_part_of_the_key_but_the_prompt_is(
    start_cached: StartCached, echo_upstream: EchoUpstream
) -> None:
    gateway = start_cached()
    gateway.http.post("/v1/chat/completions", json={**GREEDY, "user": "ann"})
    assert (
        gateway.http.post("/v1/chat/completions", json={**GREEDY, "user": "bob"}).headers["x-genai-cache"]
        == "hit"
    )
    other = {**GREEDY, "messages": [{"role": "user", "content": "another question"}]}
    assert gateway.http.post("/v1/chat/completions", json=other).headers["x-genai-cache"] == "miss"


def test_a_switched_off_cache_or_endpoint_passes_requests_through(
    start_cached: StartCached, echo_upstream: EchoUpstream
) -> None:
    off = start_cached(cache={"enabled": False})
    answers = [off.http.post("/v1/chat/completions", json=GREEDY) for _ in range(2)]
    assert all("x-genai-cache" not in answer.headers for answer in answers)
    chat_only = start_cached(cache={"endpoints": ["chat"]})
    prompt = {"model": CHAT_MODEL, "prompt": "hello", "temperature": 0}
    completions = [chat_only.http.post("/v1/completions", json=prompt) for _ in range(2)]
    assert all("x-genai-cache" not in answer.headers for answer in completions)
    assert len(echo_upstream.requests) == 4


def _stream(http: httpx.Client, body: dict[str, Any]) -> tuple[httpx.Response, bytes]:
    with http.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        return response, response.read()


def test_a_stream_is_replayed_exactly_as_first_sent(
    start_cached: StartCached, echo_upstream: EchoUpstream
) -> None:
    gateway = start_cached()
    body = {**GREEDY, "stream": True, "stream_options": {"include_usage": True}}
    first_answer, first = _stream(gateway.http, body)
    second_answer, second = _stream(gateway.http, body)
    assert first_answer.headers["x-genai-cache"] == "miss"
    assert second_answer.headers["x-genai-cache"] == "hit"
    assert second == first and first.endswith(b"data: [DONE]\n\n")
    assert len(echo_upstream.requests) == 1
    hit = gateway.record(second_answer)
    assert (hit.cache_level, hit.stream, hit.saved_completion_tokens) == ("l1", True, 4)
    # A plain request is not served from the stored stream, nor a stream without the usage chunk.
    plain = gateway.http.post("/v1/chat/completions", json=GREEDY)
    no_usage, _ = _stream(gateway.http, {**GREEDY, "stream": True})
    assert (plain.headers["x-genai-cache"], no_usage.headers["x-genai-cache"]) == ("miss", "miss")


def test_a_stream_the_client_left_is_not_stored(
    start_cached: StartCached, echo_upstream: EchoUpstream
) -> None:
    gateway = start_cached()
    echo_upstream.chunk_delay = 0.05
    body = {**GREEDY, "stream": True, "messages": [{"role": "user", "content": "one two three four five"}]}
    with gateway.http.stream("POST", "/v1/chat/completions", json=body) as response:
        next(response.iter_bytes())  # the first event, then leave
    echo_upstream.chunk_delay = 0.0
    again, whole = _stream(gateway.http, body)
    assert again.headers["x-genai-cache"] == "miss" and whole.endswith(b"data: [DONE]\n\n")
    assert _stream(gateway.http, body)[0].headers["x-genai-cache"] == "hit"


def test_fake_upstream_embeddings_are_cached_per_input(
    start_cached: StartCached, fake_embedder: FakeEmbedder
) -> None:
    gateway = start_cached()
    first = gateway.http.post("/v1/embeddings", json={"model": ROUTED_EMBED, "input": ["a b", "c"]})
    assert first.headers["x-genai-cache"] == "miss" and first.headers["x-genai-cache-inputs"] == "0/2"
    mixed = gateway.http.post("/v1/embeddings", json={"model": ROUTED_EMBED, "input": ["c", "d e f", "a b"]})
    assert mixed.headers["x-genai-cache"] == "miss" and mixed.headers["x-genai-cache-inputs"] == "2/3"
    assert fake_embedder.asked == [["a b", "c"], ["d e f"]]  # only the new input was asked for
    data = mixed.json()["data"]
    assert [item["index"] for item in data] == [0, 1, 2]
    assert [item["embedding"] for item in data] == [fake_vector(t) for t in ("c", "d e f", "a b")]
    assert mixed.json()["usage"]["prompt_tokens"] == 1 + 3 + 2  # the whole request, as if all were new
    partial = gateway.record(mixed)
    assert (partial.cache_level, partial.prompt_tokens, partial.saved_prompt_tokens) == ("miss", 3, 3)
    hit = gateway.http.post("/v1/embeddings", json={"model": ROUTED_EMBED, "input": "d e f"})
    assert hit.headers["x-genai-cache"] == "hit" and len(fake_embedder.asked) == 2
    assert hit.json()["data"] == [{"object": "embedding", "index": 0, "embedding": fake_vector("d e f")}]
    assert hit.json()["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    record = gateway.record(hit)
    assert (record.cache_level, record.prompt_tokens, record.saved_prompt_tokens) == ("l1", None, 3)


def test_in_process_embeddings_are_cached_per_input(start_cached: StartCached) -> None:
    gateway = start_cached()
    model = "all-MiniLM-L6-v2"
    texts = ["the sea is calm", "a storm is coming"]
    first = gateway.http.post("/v1/embeddings", json={"model": model, "input": texts})
    assert first.status_code == 200, first.text
    assert first.headers["x-genai-cache-inputs"] == "0/2"
    mixed = gateway.http.post("/v1/embeddings", json={"model": model, "input": [texts[1], "a new text"]})
    assert mixed.status_code == 200, mixed.text
    assert mixed.headers["x-genai-cache-inputs"] == "1/2"
    # The stored vector comes back bit for bit; the new one is the model's own.
    assert mixed.json()["data"][0]["embedding"] == first.json()["data"][1]["embedding"]
    alone = gateway.http.post("/v1/embeddings", json={"model": model, "input": "a new text"})
    assert alone.headers["x-genai-cache"] == "hit"
    assert alone.json()["data"][0]["embedding"] == mixed.json()["data"][1]["embedding"]
    assert orjson.loads(alone.content)["usage"]["prompt_tokens"] > 0
