"""The ``context`` policy: retrieval-augmented generation for registered versions with a ``retrieval``
spec, or for any chat or text completion that names a ``knowledge_base`` in its body.

``before`` searches the knowledge base (``genai.retrieval.search`` on the store ``gateway.knowledge``
keeps open) for the request's question (``gateway.question``), keeps the best chunks that fit the model's
context window, puts them into the prompt (one system message for a chat, a preamble for a text
completion) and leaves them on ``ctx.retrieved`` (the extractive kind answers from them). The search runs
in the knowledge base's configured mode (``retrieval``: dense, sparse or hybrid) and each hit comes with its
neighbouring chunks (``retrieval.neighbours``) as one passage. ``after`` adds
``citations`` to the JSON answer; for a stream, ``on_chunk`` sends one more chunk with ``choices: []`` and
``citations`` just before ``[DONE]``. A citation is ``{"index", "doc_id", "source", "title",
"chunk_no", "score", "text"}``; ``index`` is the ``[n]`` the prompt numbers the chunk with.

The body field ``knowledge_base`` (``extra_body`` for OpenAI's clients) overrides the version's knowledge
base; it is never forwarded upstream. An unknown knowledge base is a 400 naming it; a search that finds
nothing still answers, with ``citations: []``.

Fitting, by tokens: the budget is the context window minus the prompt minus ``max_tokens`` (a quarter of
the window, at most 256, when the request sets none), capped by ``retrieval.max_context_tokens``; passages
are taken best first, a passage that does not fit is replaced by its hit alone, and a hit that does not fit
either is skipped. Tokens are counted with the embedding model's
tokenizer (``genai.embedding.tokenizer``, the counts ingestion sizes chunks with) times ``TOKEN_MARGIN``:
the gateway does not know the served model's tokenizer, and a small-vocabulary one (the tiny test model's)
needs about 1.9 times as many tokens. With a window of thousands of tokens the margin rarely binds. With no
known window, only ``max_context_tokens`` (if any) limits the context.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from gateway.context import RequestContext
from gateway.errors import InvalidRequest
from gateway.knowledge import KnowledgeBases
from gateway.policies.base import Call, Policy
from gateway.question import message_text, question_of
from gateway.sse import DONE, sse_frame

if TYPE_CHECKING:
    from genai.ingest.records import ScoredChunk
    from genai.retrieval.neighbours import Passage
    from genai.settings import Settings

_NOTE = "context.citations"
_KB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
DEFAULT_K = 4  # chunks per request when the body names a knowledge base for a model without retrieval
TOKEN_MARGIN = 2.0
_PER_MESSAGE_TOKENS = 8  # a chat template's role markers and separators, per message
_DEFAULT_MAX_TOKENS = 256
INSTRUCTIONS = (
    "Answer the question using the numbered passages below; cite a passage by its number, like [1]. "
    "If they do not contain the answer, say so."
)


class ContextPolicy(Policy):
    """Adds retrieved context to a request's prompt and citations to its answer."""

    name: ClassVar[str] = "context"

    @classmethod
    def from_settings(cls, settings: Settings | None) -> ContextPolicy:
        return cls(settings)

    def __init__(self, settings: Settings | None = None) -> None:
        if settings is None:
            from genai.settings import get_settings

            settings = get_settings()
        self.settings = settings
        self.knowledge = KnowledgeBases(settings)

    def applies(self, call: Call) -> bool:
        return _NOTE in call.notes

    async def before(self, call: Call) -> None:
        ctx, body = call.ctx, call.body
        override = body.pop("knowledge_base", None)
        retrieval = ctx.version.spec.retrieval if ctx.version is not None else None
        if ctx.endpoint == "embeddings" or (override is None and retrieval is None):
            return None
        if override is not None and (not isinstance(override, str) or not _KB_NAME.match(override)):
            raise InvalidRequest(
                "knowledge_base must be a knowledge base name (letters, digits, '-' and '_')",
                param="knowledge_base",
            )
        kb = override or (retrieval.knowledge_base if retrieval else "")
        k = retrieval.k if retrieval is not None else DEFAULT_K
        question = question_of(body)
        passages = await self.knowledge.passages(kb, question, k) if question else []
        cap = retrieval.max_context_tokens if retrieval is not None else None
        kept = await asyncio.to_thread(self._fit, ctx, body, passages, cap)
        ctx.retrieved = kept
        call.notes[_NOTE] = [citation(index, chunk) for index, chunk in enumerate(kept, 1)]
        if kept:
            add_context(body, context_text(kept))
        return None

    def _fit(
        self, ctx: RequestContext, body: dict[str, Any], passages: Sequence[Passage], cap: int | None
    ) -> list[ScoredChunk]:
        if not passages or (ctx.context_window is None and cap is None):
            return [passage.expanded for passage in passages]
        count = self._counter()
        budget = cap if cap is not None else None
        if ctx.context_window is not None:
            window = ctx.context_window
            limit = body.get("max_tokens") or body.get("max_completion_tokens")
            reserve = limit if isinstance(limit, int) else min(_DEFAULT_MAX_TOKENS, window // 4)
            left = window - reserve - prompt_tokens(body, count) - count(INSTRUCTIONS) - _PER_MESSAGE_TOKENS
            budget = left if budget is None else min(budget, left)
        assert budget is not None
        kept: list[ScoredChunk] = []
        for found in passages:
            for chunk in (found.expanded, found.hit) if found.expanded is not found.hit else (found.hit,):
                cost = count(passage(len(kept) + 1, chunk))
                if cost <= budget:
                    kept.append(chunk)
                    budget -= cost
                    break
        return kept

    def _counter(self) -> Any:
        from genai.embedding.tokenizer import load_tokenizer

        tokenizer = load_tokenizer(self.settings.embedding.model)

        def count(text: str) -> int:
            return int(len(tokenizer.encode(text, add_special_tokens=False).ids) * TOKEN_MARGIN) + 1

        return count

    async def after(self, call: Call, answer: dict[str, Any]) -> dict[str, Any]:
        citations = call.notes.get(_NOTE)
        if citations is not None:
            answer["citations"] = citations
        return answer

    def on_chunk(self, call: Call, event: bytes) -> bytes:
        if event.endswith(DONE) and _NOTE in call.notes:
            ctx = call.ctx
            payload = {
                "id": f"{'chatcmpl' if ctx.endpoint == 'chat' else 'cmpl'}-{ctx.request_id}",
                "object": "chat.completion.chunk" if ctx.endpoint == "chat" else "text_completion",
                "created": int(time.time()),
                "model": ctx.model,
                "choices": [],
                "citations": call.notes[_NOTE],
            }
            return sse_frame(orjson.dumps(payload)) + event
        return event

    async def close(self) -> None:
        await self.knowledge.close()


def citation(index: int, chunk: ScoredChunk) -> dict[str, Any]:
    return {
        "index": index,
        "doc_id": chunk.doc_id,
        "source": chunk.source,
        "title": chunk.title,
        "chunk_no": chunk.chunk_no,
        "score": round(float(chunk.score), 6),
        "text": chunk.text,
    }


def passage(index: int, chunk: ScoredChunk) -> str:
    return f"[{index}] {chunk.title} ({chunk.source})\n{chunk.text}"


def context_text(chunks: Sequence[ScoredChunk]) -> str:
    return INSTRUCTIONS + "\n\n" + "\n\n".join(passage(i, chunk) for i, chunk in enumerate(chunks, 1))


def prompt_tokens(body: dict[str, Any], count: Any) -> int:
    messages = body.get("messages")
    if isinstance(messages, list):
        return sum(
            count(message_text(message.get("content"))) + _PER_MESSAGE_TOKENS
            for message in messages
            if isinstance(message, dict)
        )
    prompt = body.get("prompt")
    return int(count(prompt)) if isinstance(prompt, str) else 0


def add_context(body: dict[str, Any], text: str) -> None:
    """Put ``text`` into the prompt: the first system message of a chat gets it appended (some chat
    templates allow only one), else a system message is added first; a text prompt gets it before."""
    messages = body.get("messages")
    if isinstance(messages, list):
        first = messages[0] if messages else None
        if (
            isinstance(first, dict)
            and first.get("role") == "system"
            and isinstance(first.get("content"), str)
        ):
            messages[0] = {**first, "content": f"{first['content']}\n\n{text}"}
        else:
            messages.insert(0, {"role": "system", "content": text})
    elif isinstance(body.get("prompt"), str):
        body["prompt"] = f"{text}\n\n{body['prompt']}"
