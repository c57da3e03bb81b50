"""The key kernel (genai.accesskeys) on SQLite and PostgreSQL: only the hash and the prefix are stored,
created keys are found by hash, listed and revoked; invalid tenants, tiers, budgets and expiries are refused
with a message saying what to fix; the client key file is written once, 0600. And the gateway's key
store: its cache, shared reads and bound."""

from __future__ import annotations

import asyncio
import stat
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from gateway.auth.keys import KeyStore
from gateway.errors import AuthenticationFailed
from genai.accesskeys import (
    AccessKeyError,
    KeyInfo,
    client_key_path,
    create_key,
    ensure_client_key,
    find_key_by_hash,
    hash_key,
    list_keys,
    revoke_key,
)
from genai.db import get_engine
from genai.settings import Settings


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(home=tmp_path, database_url=database_url, auth={"enabled": True})


def test_only_the_hash_and_prefix_are_stored(settings: Settings) -> None:
    created = create_key(settings, "acme", tier="premium", models=["b", "a", "a"], budget_usd=5.0, name="ci")
    key = created.key
    assert key.startswith("gk_") and len(key) == 46
    with get_engine(settings.sql_url).connect() as connection:
        rows = connection.execute(text("SELECT * FROM api_keys")).mappings().all()
    assert len(rows) == 1
    stored = " ".join(str(value) for value in rows[0].values())
    assert key not in stored and key[12:] not in stored
    assert rows[0]["key_hash"] == hash_key(key) and rows[0]["prefix"] == key[:12]
    found = find_key_by_hash(settings, hash_key(key))
    assert found == created.info
    assert (found.tenant, found.tier, found.models, found.budget_usd, found.name) == (
        "acme",
        "premium",
        ("a", "b"),
        5.0,
        "ci",
    )
    assert find_key_by_hash(settings, hash_key(key + "x")) is None


def test_keys_are_listed_and_revoked(settings: Settings) -> None:
    first = create_key(settings, "acme").info
    second = create_key(settings, "globex", expires_at=datetime.now(UTC) + timedelta(days=1)).info
    assert [info.prefix for info in list_keys(settings)] == [first.prefix, second.prefix]
    assert [info.prefix for info in list_keys(settings, "globex")] == [second.prefix]
    revoked, now = revoke_key(settings, first.prefix)
    assert now and revoked.revoked_at is not None and revoked.status() == "revoked"
    again, now = revoke_key(settings, first.prefix)
    assert not now and again.revoked_at == revoked.revoked_at
    assert find_key_by_hash(settings, _hash_of(settings, first.prefix)).revoked_at is not None  # type: ignore[union-attr]
    assert list_keys(settings, "globex")[0].status() == "active"


def test_a_key_can_be_revoked_by_its_whole_value(settings: Settings) -> None:
    created = create_key(settings, "acme")
    info, now = revoke_key(settings, created.key)
    assert now and info.prefix == created.info.prefix


@pytest.mark.parametrize(
    ("options", "phrase"),
    [
        ({"tenant": "", "tier": "default"}, "invalid tenant"),
        ({"tenant": "a b", "tier": "default"}, "invalid tenant"),
        (
            {"tenant": "acme", "tier": "gold"},
            "unknown tier 'gold'; the tiers in limits.tiers are: default, premium",
        ),
        ({"tenant": "acme", "budget_usd": -1.0}, "budget"),
        ({"tenant": "acme", "budget_usd": float("nan")}, "budget"),
        ({"tenant": "acme", "expires_at": datetime(2020, 1, 1, tzinfo=UTC)}, "in the past"),
        ({"tenant": "acme", "models": [" ", ""]}, "names no model"),
        ({"tenant": "acme", "name": "x" * 300}, "longer than"),
    ],
)
def test_invalid_keys_are_refused_clearly(
    settings: Settings, options: dict[str, object], phrase: str
) -> None:
    options = dict(options)  # the parameter is shared by the backends
    tenant = str(options.pop("tenant"))
    with pytest.raises(AccessKeyError, match=phrase.replace("(", r"\(")):
        create_key(settings, tenant, **options)  # type: ignore[arg-type]
    assert list_keys(settings) == []


def test_revoking_an_unknown_prefix_says_so(settings: Settings) -> None:
    with pytest.raises(AccessKeyError, match="no key has the prefix 'gk_nope'"):
        revoke_key(settings, "gk_nope")


def test_the_client_key_is_written_once_with_mode_0600(settings: Settings) -> None:
    created = ensure_client_key(settings)
    assert created is not None and created.info.tenant == "default"
    path = client_key_path(settings)
    assert path == settings.home / "gateway-client.key"
    assert path.read_text().strip() == created.key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_client_key(settings) is None  # the file exists: nothing to do
    assert len(list_keys(settings)) == 1
    off = settings.model_copy(update={"auth": settings.auth.model_copy(update={"enabled": False})})
    path.unlink()
    assert ensure_client_key(off) is None and not path.exists()


def _hash_of(settings: Settings, prefix: str) -> str:
    with get_engine(settings.sql_url).connect() as connection:
        value = connection.execute(
            text("SELECT key_hash FROM api_keys WHERE prefix = :p"), {"p": prefix}
        ).scalar()
    return str(value)


# --- the gateway's key store ------------------------------------------------------------------------------


class CountingLookup:
    """Counts database reads (the real lookup: it wraps ``find_key_by_hash``)."""

    def __init__(self, settings: Settings, delay: float = 0.0) -> None:
        self.settings = settings
        self.delay = delay
        self.reads = 0
        self.lock = threading.Lock()

    def __call__(self, key_hash: str) -> KeyInfo | None:
        with self.lock:
            self.reads += 1
        time.sleep(self.delay)
        return find_key_by_hash(self.settings, key_hash)


def test_the_store_caches_and_shares_reads(settings: Settings) -> None:
    key = create_key(settings, "acme").key
    lookup = CountingLookup(settings, delay=0.2)
    store = KeyStore(lookup, cache_seconds=30)

    async def many() -> None:
        principals = await asyncio.gather(*(store.principal(key) for _ in range(50)))
        assert {p.tenant for p in principals} == {"acme"}
        await store.principal(key)

    asyncio.run(many())
    assert lookup.reads == 1  # 50 concurrent requests shared one read; the next came from the cache


def test_unknown_keys_are_cached_and_the_cache_is_bounded(settings: Settings) -> None:
    lookup = CountingLookup(settings)
    store = KeyStore(lookup, cache_seconds=30, max_cached=10)

    async def refused(key: str) -> None:
        with pytest.raises(AuthenticationFailed):
            await store.principal(key)

    async def run() -> None:
        for _ in range(3):
            await refused("gk_unknown")
        for number in range(25):
            await refused(f"gk_unknown{number}")

    asyncio.run(run())
    assert lookup.reads == 26
    assert len(store._cache) <= 10


def test_a_model_restriction_covers_the_registered_models_references() -> None:
    from gateway.policies.auth import may_use
    from gateway.principal import Principal

    restricted = Principal(tenant="acme", models=frozenset({"qa", "tiny-chat"}))
    assert (
        may_use(restricted, "qa")
        and may_use(restricted, "qa@challenger", "qa")
        and may_use(restricted, "qa/3", "qa")
    )
    assert not may_use(restricted, "qa@challenger") and not may_use(restricted, "other", "other")
    assert may_use(Principal(tenant="acme"), "anything")
