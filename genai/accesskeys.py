"""API keys of the gateway: create, list, revoke, and look one up by its hash (the ``api_keys`` table).

A key is ``gk_`` and 43 url-safe random characters (256 bits), shown once, when it is created. The
database keeps its SHA-256 in hex (a key is a long random string, not a password: a fast hash is enough)
and its first 12 characters as the prefix that names it in listings, logs and ``genai keys revoke``.
Each key belongs to a tenant and a tier (one of ``limits.tiers``), and may be restricted to some models,
given a budget per ``limits.budget_period`` and an expiry.

The gateway reads keys through ``find_key_by_hash`` (``gateway.auth.keys`` caches it briefly); the CLI
(``genai keys``) and ``genai up`` write them.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from genai.db import ApiKeyRow
    from genai.settings import Settings

KEY_PREFIX = "gk_"
DISPLAY_PREFIX_LENGTH = 12  # "gk_" and 9 random characters: 54 bits, enough to name a key uniquely
_SECRET_BYTES = 32
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_MAX_NAME = 256
_MAX_MODEL = 256


class AccessKeyError(ValueError):
    """A key that cannot be created or revoked as asked; the message says what to fix."""


class KeyInfo(BaseModel):
    """What the database knows about a key (never the key itself)."""

    model_config = ConfigDict(frozen=True)

    prefix: str
    tenant: str
    tier: str
    name: str = ""
    models: tuple[str, ...] | None = None  # None: any model
    budget_usd: float | None = None
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def status(self, now: datetime | None = None) -> str:
        """``active``, ``revoked`` or ``expired``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or datetime.now(UTC)):
            return "expired"
        return "active"


class CreatedKey(BaseModel):
    """A new key: the secret (shown once) and what was stored about it."""

    model_config = ConfigDict(frozen=True)

    key: str
    info: KeyInfo


def hash_key(key: str) -> str:
    """The SHA-256 (hex) the database keeps of ``key``."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh random key: ``gk_`` and 43 url-safe characters."""
    return KEY_PREFIX + secrets.token_urlsafe(_SECRET_BYTES)


def display_prefix(key: str) -> str:
    return key[:DISPLAY_PREFIX_LENGTH]


def _engine(settings: Settings) -> Engine:
    from genai.db import get_engine

    return get_engine(settings.sql_url)


def _info(row: ApiKeyRow) -> KeyInfo:
    return KeyInfo(
        prefix=row.prefix,
        tenant=row.tenant,
        tier=row.tier,
        name=row.name or "",
        models=tuple(row.models) if row.models is not None else None,
        budget_usd=row.budget_usd,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def _checked(
    settings: Settings,
    tenant: str,
    tier: str,
    models: Sequence[str] | None,
    budget_usd: float | None,
    expires_at: datetime | None,
    name: str,
) -> list[str] | None:
    """The models list to store, once every argument was found sane (else ``AccessKeyError``)."""
    if not _TENANT.match(tenant):
        raise AccessKeyError(
            f"invalid tenant {tenant[:100]!r}: 1-128 characters, letters, digits and . _ : - "
            "(starting with a letter or digit)"
        )
    if tier not in settings.limits.tiers:
        known = ", ".join(sorted(settings.limits.tiers))
        raise AccessKeyError(f"unknown tier {tier[:100]!r}; the tiers in limits.tiers are: {known}")
    if budget_usd is not None and not budget_usd >= 0:  # also refuses NaN
        raise AccessKeyError(f"the budget must be a number of USD >= 0, not {budget_usd}")
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise AccessKeyError(f"the expiry {expires_at.isoformat()} is in the past")
    if len(name) > _MAX_NAME:
        raise AccessKeyError(f"the name is longer than {_MAX_NAME} characters")
    if models is None:
        return None
    cleaned = sorted({model.strip() for model in models if model.strip()})
    if not cleaned:
        raise AccessKeyError("--models names no model (leave it out to allow every model)")
    too_long = [model for model in cleaned if len(model) > _MAX_MODEL]
    if too_long:
        raise AccessKeyError(f"model names are at most {_MAX_MODEL} characters: {too_long[0][:100]!r}...")
    return cleaned


def create_key(
    settings: Settings,
    tenant: str,
    *,
    tier: str = "default",
    models: Sequence[str] | None = None,
    budget_usd: float | None = None,
    expires_at: datetime | None = None,
    name: str = "",
) -> CreatedKey:
    """A new key for ``tenant``, stored (as its hash) in the settings' database."""
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm import Session

    from genai.db import ApiKeyRow, for_writing

    allowed = _checked(settings, tenant, tier, models, budget_usd, expires_at, name)
    engine = for_writing(_engine(settings))
    for _ in range(3):  # a prefix already taken (54 random bits: practically never) draws a new key
        key = new_key()
        row = ApiKeyRow(
            prefix=display_prefix(key),
            key_hash=hash_key(key),
            tenant=tenant,
            tier=tier,
            name=name,
            models=allowed,
            budget_usd=budget_usd,
            created_at=datetime.now(UTC),
            expires_at=expires_at.astimezone(UTC) if expires_at is not None else None,
            revoked_at=None,
        )
        info = _info(row)
        try:
            with Session(engine) as session, session.begin():
                session.add(row)
        except IntegrityError:
            continue
        return CreatedKey(key=key, info=info)
    raise AccessKeyError("could not draw an unused key prefix three times in a row")  # pragma: no cover


def list_keys(settings: Settings, tenant: str | None = None) -> list[KeyInfo]:
    """Every key (of ``tenant``, when given), oldest first."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from genai.db import ApiKeyRow

    query = select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.prefix)
    if tenant is not None:
        query = query.where(ApiKeyRow.tenant == tenant)
    with Session(_engine(settings)) as session:
        return [_info(row) for row in session.scalars(query)]


def revoke_key(settings: Settings, prefix: str) -> tuple[KeyInfo, bool]:
    """Revoke the key named by ``prefix`` (the display prefix, or the whole key); returns it and whether
    this call revoked it (False: it was revoked already). ``AccessKeyError`` when no key has it."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from genai.db import ApiKeyRow, for_writing

    prefix = prefix.strip()
    if len(prefix) > DISPLAY_PREFIX_LENGTH and prefix.startswith(KEY_PREFIX):
        query = select(ApiKeyRow).where(ApiKeyRow.key_hash == hash_key(prefix))
    else:
        query = select(ApiKeyRow).where(ApiKeyRow.prefix == prefix)
    with Session(for_writing(_engine(settings))) as session, session.begin():
        row = session.scalars(query).one_or_none()
        if row is None:
            raise AccessKeyError(f"no key has the prefix {prefix[:100]!r} (`genai keys list` shows them)")
        revoked_now = row.revoked_at is None
        if revoked_now:
            row.revoked_at = datetime.now(UTC)
        return _info(row), revoked_now


def find_key_by_hash(settings: Settings, key_hash: str) -> KeyInfo | None:
    """The key whose SHA-256 is ``key_hash``, revoked and expired ones included; None if there is none."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from genai.db import ApiKeyRow

    with Session(_engine(settings)) as session:
        row = session.scalars(select(ApiKeyRow).where(ApiKeyRow.key_hash == key_hash)).one_or_none()
        return _info(row) if row is not None else None


def client_key_path(settings: Settings) -> Path:
    """Where the platform's own clients find their key: ``auth.client_key_file``, else home's."""
    return settings.auth.client_key_file or settings.home / "gateway-client.key"


def ensure_client_key(settings: Settings) -> CreatedKey | None:
    """With authentication and API keys on, and no client key yet (neither ``auth.client_key`` nor its
    file), create one for the tenant ``default`` and write it to ``client_key_path`` (mode 0600).
    Returns the new key, or None when nothing had to be done."""
    auth = settings.auth
    path = client_key_path(settings)
    if not auth.enabled or not auth.api_keys or auth.client_key is not None or path.exists():
        return None
    created = create_key(settings, "default", name="platform clients (genai up)")
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created with 0600 from the start: the key is never readable by others, not even for an instant.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(created.key + "\n")
    return created
