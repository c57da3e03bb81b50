"""Ledger rows for the report tests: a seeded mix of tenants, keys, models and versions, with errors,
retries, cache hits, unpriced records and NULL tokens, written straight into ``usage_records``."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert as sql_insert

from genai.db import UsageRow, get_engine

TENANTS = ("acme", "globex", "initech", None)
MODELS = (("qa", "qa/1"), ("qa", "qa/2"), ("gpt-4o-mini", None), ("tiny-chat", None), ("mystery", None))


def ledger_row(index: int, at: datetime, **values: Any) -> dict[str, Any]:
    """One plain 200 record; ``values`` replaces any column."""
    row: dict[str, Any] = {
        "request_id": f"req-{index:08d}",
        "created_at": at,
        "tenant": "acme",
        "key_prefix": "gk_acme0001",
        "subject": None,
        "endpoint": "chat",
        "route": "/v1/chat/completions",
        "model": "qa",
        "model_version": "qa/1",
        "upstream": "vllm",
        "worker": "http://127.0.0.1:8001",
        "status": 200,
        "stream": False,
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "cached_tokens": 0,
        "latency_ms": 50.0,
        "ttft_ms": None,
        "attempts": 1,
        "fallbacks": 0,
        "cost_usd": 0.001,
        "price_version": "test",
        "cache_hit": False,
        "cache_level": None,
        "saved_tokens": None,
        "saved_cost_usd": None,
        "guard_events": None,
        "response_retries": 0,
        "error_type": None,
    }
    row.update(values)
    return row


def mixed_rows(count: int, start: datetime, span: timedelta, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` records spread over ``[start, start + span)``: every kind of record the report sums."""
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        model, version = rng.choice(MODELS)
        tenant = rng.choice(TENANTS)
        status = rng.choice((200,) * 12 + (400, 429, 500, 502))
        hit = status == 200 and rng.random() < 0.1
        unpriced = model == "mystery" or rng.random() < 0.03
        rows.append(
            ledger_row(
                index,
                start + span * rng.random(),
                tenant=tenant,
                key_prefix=None if tenant is None else f"gk_{tenant[:4]}{rng.randint(0, 2)}",
                model=model,
                model_version=version,
                route=rng.choice(("/v1/chat/completions", "/v1/completions", "/v1/embeddings")),
                endpoint=rng.choice(("chat", "completions", "embeddings")),
                upstream=rng.choice(("vllm", "openai")),
                status=status,
                prompt_tokens=None if status == 429 else rng.randint(1, 2000),
                completion_tokens=None if status >= 400 else rng.randint(0, 500),
                cached_tokens=rng.choice((0, 0, 16, 64)),
                attempts=rng.choice((1, 1, 1, 2, 3)),
                response_retries=rng.choice((0,) * 9 + (1,)),
                cost_usd=None if unpriced else round(rng.random() * 0.01, 6),
                cache_hit=hit,
                cache_level="l1" if hit else "miss",
                saved_tokens=rng.randint(10, 900) if hit else None,
                saved_cost_usd=round(rng.random() * 0.002, 6) if hit else None,
            )
        )
    return rows


def insert(url: str, rows: list[dict[str, Any]]) -> None:
    with get_engine(url).begin() as connection:
        connection.execute(sql_insert(UsageRow), rows)


NOV = datetime(2026, 11, 1, tzinfo=UTC)
