"""The key a batch is served with: its owner's tenant, tier and models, for the batch's lifetime only.

The serve-batch flow sends every request of a batch back through the gateway, so the request chain applies
to it. Sent with the platform's own client key, the batch's requests would be limited, budgeted and charged
as the platform's tenant, not as the tenant that created the batch. So the flow serves a stored batch with
a key of its own, made for the owner's tenant with the owner's tier and models (``BatchOwner``, recorded by
/v1/batches), named after the batch so that `genai keys list` and the audit log say what it is, expiring
with the batch's completion window and revoked as soon as the run ends.

A key's own budget (``budget_usd``) is not carried over: the owner's tenant budget and limits apply to the
batch, the owner key's personal budget does not.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from genai.accesskeys import CreatedKey, create_key, revoke_key

if TYPE_CHECKING:
    from genai.batch.records import BatchRecord
    from genai.settings import Settings

# A batch with no recorded expiry (made before owners were recorded) gets the completion window's length.
FALLBACK_LIFETIME = timedelta(hours=24)


def batch_key_name(batch_id: str) -> str:
    return f"batch {batch_id}"


def mint_batch_key(settings: Settings, batch: BatchRecord) -> CreatedKey | None:
    """A key for ``batch``'s owner, or None where the gateway checks no API keys (then none is needed, or
    only OIDC tokens are accepted and the platform's client credential is all the flow has)."""
    if not (settings.auth.enabled and settings.auth.api_keys):
        return None
    owner = batch.owner
    expires_at = batch.expires_at or datetime.now(UTC) + FALLBACK_LIFETIME
    return create_key(
        settings,
        batch.tenant,
        tier=owner.tier if owner is not None else "default",
        models=owner.models if owner is not None else None,
        expires_at=expires_at,
        name=batch_key_name(batch.id),
    )


def retire_batch_key(settings: Settings, key: CreatedKey | None) -> None:
    """Revoke the batch's key (a run that ends, however it ends); a key already revoked stays so."""
    if key is not None:
        revoke_key(settings, key.info.prefix)
