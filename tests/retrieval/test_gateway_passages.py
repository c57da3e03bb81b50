"""The gateway's side of retrieval: its knowledge bases search in each knowledge base's configured mode and
widen hits into passages by ``retrieval.neighbours``; the context policy falls back to the bare hit when a
passage does not fit. Real Qdrant (local mode) and the real embedding model."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from gateway.errors import NoHealthyUpstream
from gateway.knowledge import KnowledgeBases
from gateway.policies.context import ContextPolicy
from genai.retrieval import search
from genai.settings import KnowledgeBaseRetrieval, Settings
from tests.retrieval.corpus import (
    DENSE_FIRST,
    EXACT_DOC,
    EXACT_QUERY,
    document,
    views_documents,
    write_kb,
    write_legacy_kb,
)

pytestmark = pytest.mark.usefixtures("packaged_encoder")


def configured(settings: Settings, **kbs: dict[str, Any]) -> Settings:
    retrieval = settings.retrieval.model_copy(
        update={"knowledge_bases": {kb: KnowledgeBaseRetrieval.model_validate(v) for kb, v in kbs.items()}}
    )
    return settings.model_copy(update={"retrieval": retrieval})


def test_the_gateway_searches_in_the_knowledge_base_s_mode(settings: Settings) -> None:
    write_kb(settings, "views", views_documents())

    async def first_doc(mode: str) -> str:
        knowledge = KnowledgeBases(configured(settings, views={"mode": mode}))
        try:
            return (await knowledge.search("views", EXACT_QUERY, 3))[0].doc_id
        finally:
            await knowledge.close()

    assert asyncio.run(first_doc("sparse")) == EXACT_DOC
    assert asyncio.run(first_doc("dense")) == DENSE_FIRST


def test_passages_carry_the_neighbours_and_fall_back_to_the_hit_when_too_long(settings: Settings) -> None:
    small = settings.model_copy(
        update={"chunking": settings.chunking.model_copy(update={"chunk_tokens": 20, "overlap_tokens": 2})}
    )
    sentences = [f"Paragraph {n} talks about topic number {n} in some detail." for n in range(6)]
    sentences[3] = "The checkpoint_timeout setting bounds the time between automatic checkpoints."
    write_kb(small, "long", [document("long.md", "Long", "\n\n".join(sentences))])
    wide = configured(small, long={"neighbours": 1, "mode": "sparse"})

    async def passages() -> list[Any]:
        knowledge = KnowledgeBases(wide)
        try:
            return await knowledge.passages("long", "checkpoint_timeout", 1)
        finally:
            await knowledge.close()

    [found] = asyncio.run(passages())
    assert found.hit == search("long", "checkpoint_timeout", 1, settings=small, mode="sparse")[0]
    assert len(found.expanded.text) > len(found.hit.text) and found.hit.text in found.expanded.text

    policy = ContextPolicy(wide)
    ctx: Any = SimpleNamespace(context_window=None)
    roomy = policy._fit(ctx, {}, [found], cap=1000)
    assert roomy == [found.expanded]
    hit_cost = policy._counter()(f"[1] {found.hit.title} ({found.hit.source})\n{found.hit.text}")
    tight = policy._fit(ctx, {}, [found], cap=hit_cost)  # room for the hit, not for its passage
    assert tight == [found.hit]
    assert policy._fit(ctx, {}, [found], cap=2) == []


def test_a_configured_sparse_mode_on_a_legacy_knowledge_base_is_a_503_naming_the_fix(
    settings: Settings,
) -> None:
    write_legacy_kb(settings, "old", views_documents())

    async def attempt() -> None:
        knowledge = KnowledgeBases(configured(settings, old={"mode": "hybrid"}))
        try:
            await knowledge.search("old", EXACT_QUERY, 3)
        finally:
            await knowledge.close()

    with pytest.raises(NoHealthyUpstream, match="Re-ingest"):
        asyncio.run(attempt())
