"""OpenID Connect bearer tokens: JWTs signed by the issuer's keys, validated locally.

The key set (JWKS) comes from ``oidc.jwks_url``, else from the ``jwks_uri`` of the issuer's discovery
document (``ISSUER/.well-known/openid-configuration``), and is trusted for ``jwks_cache_seconds``. A token
signed with a key id the set does not hold makes the validator fetch the set again, once (at most every
``min_refetch_seconds``, so a stream of forged key ids cannot hammer the issuer): that is how a rotated
key is picked up before the cache expires. Only the configured algorithms are accepted (never ``none``,
never an HMAC unless configured), and issuer, audience, expiry and not-before are checked with the
leeway. A validated token is remembered until it expires, so a busy client's requests cost a dict lookup.

The token's claims give the principal: ``tenant_claim`` its tenant, ``tier_claim`` its tier (else the
tenant's tier in ``tenants``, else ``default_tier``), ``sub`` its subject.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from gateway.auth.credentials import unauthorized
from gateway.errors import AuthUnavailable, PermissionDenied
from gateway.principal import Principal
from genai.settings import OidcSettings, TenantSettings

logger = logging.getLogger(__name__)

FETCH_TIMEOUT_S = 5.0
MAX_REMEMBERED = 10_000
_MAX_CLAIM = 128


@dataclass(frozen=True, slots=True)
class _Key:
    key: jwt.PyJWK
    algorithm: str | None  # the JWK's own ``alg``, when it names one


def _signing_keys(document: Any) -> dict[str | None, _Key]:
    """The usable signing keys of a JWKS document, by key id (keys of unknown types are skipped)."""
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("the key set has no 'keys' list")
    keys: dict[str | None, _Key] = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(entry)
        except jwt.PyJWTError:
            continue
        declared = entry.get("alg")
        keys[key.key_id] = _Key(key, declared if isinstance(declared, str) else None)
    if not keys:
        raise ValueError("the key set holds no usable signing key")
    return keys


class OidcValidator:
    """Principals of an issuer's JWTs."""

    def __init__(
        self,
        oidc: OidcSettings,
        tenants: Mapping[str, TenantSettings],
        tiers: Collection[str],
        *,
        min_refetch_seconds: float = 1.0,
    ) -> None:
        self.oidc = oidc
        self.tenants = tenants
        self.tiers = frozenset(tiers)
        self.min_refetch_seconds = min_refetch_seconds
        self._keys: dict[str | None, _Key] | None = None
        self._fetched_at = float("-inf")  # monotonic time of the last fetch attempt
        self._jwks_url = oidc.jwks_url
        self._lock = asyncio.Lock()
        self._client: httpx.AsyncClient | None = None
        self._remembered: dict[str, tuple[float, Principal]] = {}  # token -> (expiry epoch, principal)

    async def principal(self, token: str) -> Principal:
        """The principal of ``token``; 401 when it is not a valid token of the issuer for the audience."""
        remembered = self._remembered.get(token)
        if remembered is not None and remembered[0] > time.time():
            return remembered[1]
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise unauthorized("The bearer token is neither an API key nor a well-formed JWT.") from None
        algorithm = header.get("alg")
        if algorithm not in self.oidc.algorithms:
            raise unauthorized(
                f"The token's algorithm is not one the gateway accepts ({self.oidc.algorithms})."
            )
        kid = header.get("kid")
        key = await self._key(kid if isinstance(kid, str) else None)
        claims = self._decode(token, key, algorithm)
        principal = self._principal(claims)
        if len(self._remembered) >= MAX_REMEMBERED:
            self._remembered.clear()
        self._remembered[token] = (float(claims["exp"]) + self.oidc.leeway_seconds, principal)
        return principal

    def _decode(self, token: str, key: _Key, algorithm: str) -> dict[str, Any]:
        if key.algorithm is not None and key.algorithm != algorithm:
            raise unauthorized("The token's algorithm does not match its signing key's.")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key.key,
                algorithms=[algorithm],
                audience=self.oidc.audience,
                issuer=self.oidc.issuer,
                leeway=self.oidc.leeway_seconds,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise unauthorized("The token has expired.", code="expired_token") from None
        except jwt.ImmatureSignatureError:
            raise unauthorized("The token is not valid yet (nbf or iat in the future).") from None
        except jwt.InvalidAudienceError:
            raise unauthorized(
                f"The token is not meant for this gateway (aud must be {self.oidc.audience!r})."
            ) from None
        except jwt.InvalidIssuerError:
            raise unauthorized(f"The token was not issued by {self.oidc.issuer!r}.") from None
        except jwt.MissingRequiredClaimError as error:
            raise unauthorized(f"The token has no '{error.claim}' claim.") from None
        except jwt.InvalidSignatureError:
            raise unauthorized("The token's signature does not verify.") from None
        except jwt.PyJWTError as error:
            raise unauthorized(f"The token is invalid ({type(error).__name__}).") from None
        return claims

    def _principal(self, claims: Mapping[str, Any]) -> Principal:
        tenant = claims.get(self.oidc.tenant_claim)
        if not isinstance(tenant, str) or not tenant or len(tenant) > _MAX_CLAIM:
            raise unauthorized(
                f"The token has no usable '{self.oidc.tenant_claim}' claim (the caller's tenant)."
            )
        tier = claims.get(self.oidc.tier_claim) if self.oidc.tier_claim else None
        if tier is None:
            tenant_settings = self.tenants.get(tenant)
            tier = tenant_settings.tier if tenant_settings is not None else self.oidc.default_tier
        if not isinstance(tier, str) or tier not in self.tiers:
            shown = str(tier)[:_MAX_CLAIM]
            raise PermissionDenied(
                f"The token's tier {shown!r} is not a tier of this gateway.", code="unknown_tier"
            )
        subject = claims.get("sub")
        return Principal(
            tenant=tenant, tier=tier, subject=str(subject)[:256] if subject is not None else None
        )

    async def _key(self, kid: str | None) -> _Key:
        if self._keys is None or time.monotonic() - self._fetched_at > self.oidc.jwks_cache_seconds:
            await self._refresh(self._fetched_at)
        key = self._find(kid)
        if key is None and time.monotonic() - self._fetched_at >= self.min_refetch_seconds:
            await self._refresh(self._fetched_at)  # a key id we do not know: the issuer may have rotated
            key = self._find(kid)
        if key is None:
            raise unauthorized("The token is signed with a key the issuer does not publish.")
        return key

    def _find(self, kid: str | None) -> _Key | None:
        keys = self._keys or {}
        if kid is None and len(keys) == 1:
            return next(iter(keys.values()))
        return keys.get(kid)

    async def _refresh(self, seen: float) -> None:
        async with self._lock:
            if self._fetched_at != seen:
                return  # another request fetched the set while this one waited
            self._fetched_at = time.monotonic()
            try:
                keys = await self._fetch()
            except (httpx.HTTPError, ValueError, jwt.PyJWTError) as error:
                logger.warning("the OIDC key set of %s could not be fetched: %s", self.oidc.issuer, error)
                if self._keys is None:
                    raise AuthUnavailable(
                        "The gateway cannot check tokens right now (its OIDC issuer's keys are unreachable)."
                    ) from None
                return  # keep the keys we had
            self._keys = keys

    async def _fetch(self) -> dict[str | None, _Key]:
        client = self._http()
        if self._jwks_url is None:
            discovery = self.oidc.issuer.rstrip("/") + "/.well-known/openid-configuration"
            response = await client.get(discovery)
            response.raise_for_status()
            jwks_uri = response.json().get("jwks_uri")
            if not isinstance(jwks_uri, str):
                raise ValueError(f"{discovery} names no jwks_uri")
            self._jwks_url = jwks_uri
        response = await client.get(self._jwks_url)
        response.raise_for_status()
        keys = _signing_keys(response.json())
        logger.info("fetched %d OIDC signing keys of %s", len(keys), self.oidc.issuer)
        return keys

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=FETCH_TIMEOUT_S, follow_redirects=True)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
