"""The ``context`` policy and the extractive kind on a real knowledge base (ingested by the real flow, real
embedding model, Qdrant local mode), through a running gateway: citations in JSON answers and in streams,
the ``knowledge_base`` override, an unknown knowledge base, fitting chunks into the context window, and
the extractive answer."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from gateway.knowledge import KnowledgeBases
from genai.llm.extractive import split_sentences
from genai.settings import Settings
from tests.fixtures.gateway import CHAT_MODEL, EchoUpstream
from tests.gateway.registry.conftest import (
    BEST_DOC,
    DOCUMENTS,
    KB,
    QUESTION,
    RegistryGateway,
    SnapshotSource,
    gateway_settings,
    snapshot_of,
    spec,
    start_gateway,
)

CITATION_KEYS = {"index", "doc_id", "source", "title", "chunk_no", "score", "text"}


@pytest.fixture(scope="module")
def rag_gateway(knowledge_home: Path, echo_upstream_server: EchoUpstream) -> Iterator[RegistryGateway]:
    echo = echo_upstream_server.url
    retrieval = {"knowledge_base": KB, "k": 3}
    source = SnapshotSource()
    source.snapshot = snapshot_of(
        {
            "rag": (
                {1: spec("openai", base_url=echo, served_model="echo-rag", retrieval=retrieval)},
                {"champion": 1},
            ),
            "baseline": ({1: spec("extractive", retrieval=retrieval)}, {"champion": 1}),
            # Room for one chunk at most once the prompt and max_tokens are counted.
            "tight": (
                {
                    1: spec(
                        "openai",
                        base_url=echo,
                        served_model="echo-tight",
                        retrieval=retrieval,
                        context_window=330,
                    ),
                    2: spec(
                        "openai",
                        base_url=echo,
                        served_model="echo-tight",
                        retrieval=retrieval,
                        context_window=90,
                    ),
                },
                {"champion": 1, "challenger": 2},
            ),
        }
    )
    with start_gateway(gateway_settings(knowledge_home, echo), source) as gateway:
        yield gateway


@pytest.fixture
def gateway(rag_gateway: RegistryGateway, echo_upstream: EchoUpstream) -> RegistryGateway:
    return rag_gateway


def events(response: httpx.Response) -> list[Any]:
    """The stream's events: parsed JSON objects, and the string "[DONE]"."""
    found: list[Any] = []
    for block in response.text.split("\n\n"):
        if block.startswith("data: "):
            data = block[6:]
            found.append(data if data == "[DONE]" else orjson.loads(data))
    return found


def test_json_answer_carries_citations_and_the_prompt_the_context(
    gateway: RegistryGateway, echo_upstream: EchoUpstream
) -> None:
    answer = gateway.chat("rag", QUESTION)
    assert answer.status_code == 200, answer.text
    citations = answer.json()["citations"]
    assert [c["index"] for c in citations] == [1, 2, 3]
    assert all(set(c) == CITATION_KEYS for c in citations)
    assert citations[0]["doc_id"] == BEST_DOC and citations[0]["title"] == "Lighthouse Keeping"
    assert citations[0]["score"] >= citations[1]["score"] >= citations[2]["score"]
    sent = echo_upstream.last()["body"]
    assert "knowledge_base" not in sent
    system = sent["messages"][0]
    assert system["role"] == "system" and "[1] Lighthouse Keeping" in system["content"]
    assert citations[0]["text"] in system["content"]
    assert sent["messages"][-1] == {"role": "user", "content": QUESTION}


def test_stream_sends_citations_in_one_chunk_before_done(gateway: RegistryGateway) -> None:
    answer = gateway.chat("rag", QUESTION, stream=True)
    assert answer.status_code == 200 and answer.headers["x-genai-model-version"] == "rag/1"
    found = events(answer)
    assert found[-1] == "[DONE]"
    last = found[-2]
    assert last["choices"] == [] and last["citations"][0]["doc_id"] == BEST_DOC
    assert sum("citations" in event for event in found if isinstance(event, dict)) == 1


def test_knowledge_base_in_the_body_adds_context_to_a_settings_route(
    gateway: RegistryGateway, echo_upstream: EchoUpstream
) -> None:
    answer = gateway.chat(CHAT_MODEL, "What is the sourdough starter fed with?", knowledge_base=KB)
    assert answer.status_code == 200, answer.text
    assert answer.json()["citations"][0]["doc_id"] == "bakery.md"
    assert "knowledge_base" not in echo_upstream.last()["body"]
    assert "x-genai-model-version" not in answer.headers
    # Without it, a settings route is untouched: no citations, the client's messages as sent.
    plain = gateway.chat(CHAT_MODEL, QUESTION)
    assert "citations" not in plain.json()
    assert echo_upstream.last()["body"]["messages"] == [{"role": "user", "content": QUESTION}]


def test_openai_client_names_the_knowledge_base_with_extra_body_and_reads_the_citations(
    gateway: RegistryGateway, echo_upstream: EchoUpstream
) -> None:
    import openai

    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0)
    question = "What is the sourdough starter fed with?"
    messages: Any = [{"role": "user", "content": question}]
    completion = client.chat.completions.create(
        model=CHAT_MODEL, messages=messages, extra_body={"knowledge_base": KB}
    )
    # The client keeps fields it does not know: the citations come through its own response object.
    citations = (completion.model_extra or {})["citations"]
    assert citations[0]["doc_id"] == "bakery.md" and set(citations[0]) == CITATION_KEYS
    with client.chat.completions.create(
        model=CHAT_MODEL, messages=messages, extra_body={"knowledge_base": KB}, stream=True
    ) as stream:
        chunks = list(stream)
    last = [chunk for chunk in chunks if (chunk.model_extra or {}).get("citations")]
    assert len(last) == 1 and last[0].choices == [] and last[0] is chunks[-1]
    assert last[0].model_extra is not None and last[0].model_extra["citations"] == citations


def test_text_completion_gets_the_context_before_its_prompt(
    gateway: RegistryGateway, echo_upstream: EchoUpstream
) -> None:
    answer = gateway.http.post("/v1/completions", json={"model": "rag", "prompt": QUESTION})
    assert answer.status_code == 200, answer.text
    assert answer.json()["citations"][0]["doc_id"] == BEST_DOC
    prompt = echo_upstream.last()["body"]["prompt"]
    assert prompt.endswith(QUESTION) and "[1] Lighthouse Keeping" in prompt


@pytest.mark.parametrize("model", ["rag", CHAT_MODEL])
def test_unknown_knowledge_base_is_a_400_naming_it(gateway: RegistryGateway, model: str) -> None:
    answer = gateway.chat(model, QUESTION, knowledge_base="no-such-kb")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert "'no-such-kb'" in error["message"] and KB in error["message"]
    assert error["param"] == "knowledge_base"
    bad = gateway.chat(model, QUESTION, knowledge_base="../etc")
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "knowledge_base"


def test_chunks_are_fitted_into_the_context_window(gateway: RegistryGateway) -> None:
    roomy = gateway.chat("rag", QUESTION, max_tokens=32).json()["citations"]
    tight = gateway.chat("tight", QUESTION, max_tokens=32).json()["citations"]
    assert len(roomy) == 3 and 1 <= len(tight) < 3
    assert tight[0]["doc_id"] == BEST_DOC
    # No room at all: the request is still answered, with no context and citations [].
    none = gateway.chat("tight@challenger", QUESTION, max_tokens=32)
    assert none.status_code == 200 and none.json()["citations"] == []


def test_extractive_answer_is_a_sentence_of_the_best_chunk(gateway: RegistryGateway) -> None:
    answer = gateway.chat("baseline", QUESTION)
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-genai-model-version"] == "baseline/1"
    body = answer.json()
    content = body["choices"][0]["message"]["content"]
    best = body["citations"][0]
    assert best["doc_id"] == BEST_DOC
    assert content in split_sentences(best["text"])
    assert "Tuesday at dawn" in content
    words = len(QUESTION.split()) + sum(len(c["text"].split()) for c in body["citations"])
    assert body["usage"] == {
        "prompt_tokens": words,
        "completion_tokens": len(content.split()),
        "total_tokens": words + len(content.split()),
    }


def test_extractive_stream_sends_pieces_then_citations_then_done(gateway: RegistryGateway) -> None:
    whole = gateway.chat("baseline", QUESTION).json()["choices"][0]["message"]["content"]
    answer = gateway.chat("baseline", QUESTION, stream=True, stream_options={"include_usage": True})
    found = events(answer)
    assert found[-1] == "[DONE]" and found[-2]["choices"] == [] and found[-2]["citations"]
    pieces = [
        event["choices"][0]["delta"].get("content", "")
        for event in found
        if isinstance(event, dict) and event["choices"]
    ]
    assert "".join(pieces) == whole and sum(bool(p) for p in pieces) >= 2
    usage = [event["usage"] for event in found if isinstance(event, dict) and event.get("usage")]
    assert usage and usage[0]["completion_tokens"] == len(whole.split())


def test_extractive_model_cannot_embed(gateway: RegistryGateway) -> None:
    answer = gateway.http.post("/v1/embeddings", json={"model": "baseline", "input": "x"})
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "model"


def test_vector_store_is_released_when_idle(knowledge_home: Path) -> None:
    knowledge = KnowledgeBases(Settings(home=knowledge_home), idle_seconds=0.3)

    async def scenario() -> tuple[bool, bool, list[str]]:
        hits = await knowledge.search(KB, QUESTION, 2)
        open_after_search = knowledge.is_open
        await asyncio.sleep(1.0)
        return open_after_search, knowledge.is_open, [hit.doc_id for hit in hits]

    open_after_search, open_later, docs = asyncio.run(scenario())
    assert open_after_search and not open_later
    assert docs[0] == BEST_DOC and set(docs) <= set(DOCUMENTS)
