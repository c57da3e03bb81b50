"""The key a stored batch is served with (genai.batch.credentials): its owner's tenant, tier and models,
expiring with the batch, revoked when the run ends; none where the gateway checks no API keys."""

from __future__ import annotations

from pathlib import Path

from genai.accesskeys import find_key_by_hash, hash_key
from genai.batch import catalog
from genai.batch.credentials import batch_key_name, mint_batch_key, retire_batch_key
from genai.batch.records import BatchOwner
from genai.settings import Settings


def _settings(tmp_path: Path, auth: bool) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{tmp_path / 'genai.db'}",
        auth={"enabled": auth},
    )


def test_batch_key_is_the_owners_and_lives_as_long_as_the_run(tmp_path: Path) -> None:
    settings = _settings(tmp_path, auth=True)
    owner = BatchOwner(tier="premium", actor="gk-abc", models=["tiny"])
    batch = catalog.create_batch(
        settings, tenant="acme", input_file_id="file-x", endpoint="/v1/chat/completions", owner=owner
    )
    assert catalog.get_batch(settings, batch.id) == batch  # the owner survives the round trip

    key = mint_batch_key(settings, batch)
    assert key is not None
    stored = find_key_by_hash(settings, hash_key(key.key))
    assert stored is not None and stored.status() == "active"
    assert (stored.tenant, stored.tier, stored.models) == ("acme", "premium", ("tiny",))
    assert stored.expires_at == batch.expires_at and stored.name == batch_key_name(batch.id)

    retire_batch_key(settings, key)
    retired = find_key_by_hash(settings, hash_key(key.key))
    assert retired is not None and retired.status() == "revoked"
    retire_batch_key(settings, key)  # a second retirement (a retried cleanup) is harmless


def test_no_key_is_made_where_the_gateway_checks_none(tmp_path: Path) -> None:
    settings = _settings(tmp_path, auth=False)
    batch = catalog.create_batch(
        settings, tenant="anonymous", input_file_id="file-x", endpoint="/v1/chat/completions"
    )
    assert mint_batch_key(settings, batch) is None
    retire_batch_key(settings, None)
