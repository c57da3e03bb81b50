"""OIDC bearer tokens against a local issuer (a real HTTP server with a discovery document and a JWKS of
RSA and EC keys the test generates): claims mapped to tenant and tier, issuer / audience / expiry /
not-before checked with the leeway, forged and foreign tokens refused, the key set cached, refetched once
for a rotated key and not hammered by made-up key ids; then the same through a real gateway over HTTP
with the openai client."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import jwt
import openai
import pytest
from cryptography.hazmat.primitives import serialization

from gateway.app import create_app
from gateway.auth.oidc import OidcValidator
from gateway.errors import AuthenticationFailed, AuthUnavailable, GatewayError, PermissionDenied
from gateway.policies import PolicyChain, build_chain
from gateway.principal import Principal
from genai.accesskeys import create_key
from genai.settings import OidcSettings, TenantSettings
from tests.fixtures.gateway import CHAT_MODEL, USER, EchoUpstream, ServerThread
from tests.gateway.auth.conftest import POLICIES, auth_settings, oidc_settings
from tests.gateway.auth.issuer import Issuer, SigningKey
from tests.gateway.auth.recorder import Recorder

T = TypeVar("T")
CERTS = "/realms/test/protocol/openid-connect/certs"
DISCOVERY = "/realms/test/.well-known/openid-configuration"
TIERS = ("default", "premium")


def validator_for(issuer: Issuer, *, min_refetch_seconds: float = 0.2, **options: Any) -> OidcValidator:
    oidc = OidcSettings.model_validate(oidc_settings(issuer, **options))
    return OidcValidator(
        oidc, {"globex": TenantSettings(tier="premium")}, TIERS, min_refetch_seconds=min_refetch_seconds
    )


def using(validator: OidcValidator, work: Callable[[OidcValidator], Awaitable[T]]) -> T:
    """``work(validator)`` on one event loop (the validator's HTTP client belongs to it), then closed."""

    async def run() -> T:
        try:
            return await work(validator)
        finally:
            await validator.close()

    return asyncio.run(run())


def principal_of(issuer: Issuer, token: str, **options: Any) -> Principal:
    return using(validator_for(issuer, **options), lambda v: v.principal(token))


def refusal(issuer: Issuer, token: str, **options: Any) -> GatewayError:
    async def refused(validator: OidcValidator) -> GatewayError:
        try:
            await validator.principal(token)
        except GatewayError as error:
            return error
        raise AssertionError("the token was accepted")

    return using(validator_for(issuer, **options), refused)


def hs256_with_public_key(issuer: Issuer) -> str:
    """The classic algorithm-confusion forgery: HMAC keyed with the issuer's public key."""
    secret = (
        issuer.key()
        .private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    now = int(time.time())
    claims = {"iss": issuer.issuer, "aud": "genai-gateway", "exp": now + 60, "tenant": "acme"}

    def part(value: dict[str, Any]) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=")

    signing = part({"alg": "HS256", "kid": issuer.key().kid}) + b"." + part(claims)
    signature = base64.urlsafe_b64encode(hmac.new(secret, signing, hashlib.sha256).digest()).rstrip(b"=")
    return (signing + b"." + signature).decode()


def tampered(token: str) -> str:
    """``token`` with its payload rewritten to another tenant, the signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "tenant": "evil"}).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_claims_map_to_tenant_and_tier(issuer: Issuer) -> None:
    rsa = principal_of(issuer, issuer.token({"tier": "premium"}))
    assert (rsa.tenant, rsa.tier, rsa.subject, rsa.key_prefix, rsa.models) == (
        "acme",
        "premium",
        "user-1",
        None,
        None,
    )
    assert rsa.actor == "sub:user-1"
    ec = principal_of(issuer, issuer.token({"tenant": "globex"}, key=issuer.key("ES256")))
    assert (ec.tenant, ec.tier) == ("globex", "premium")  # no tier claim: the tenant's tier
    assert principal_of(issuer, issuer.token()).tier == "default"  # nor a tenant setting: default_tier
    custom = principal_of(
        issuer, issuer.token({"org": "initech", "plan": "premium"}), tenant_claim="org", tier_claim="plan"
    )
    assert (custom.tenant, custom.tier) == ("initech", "premium")


@pytest.mark.parametrize(
    ("make", "status", "phrase"),
    [
        (lambda i: i.token(aud="someone-else"), 401, "not meant for this gateway"),
        (lambda i: i.token(iss="http://127.0.0.1:1/evil"), 401, "was not issued by"),
        (lambda i: i.token(exp=int(time.time()) - 120), 401, "expired"),
        (lambda i: i.token(nbf=int(time.time()) + 120), 401, "not valid yet"),
        (lambda i: i.token(exp=None), 401, "no 'exp' claim"),
        (lambda i: i.token(tenant=None), 401, "no usable 'tenant' claim"),
        (lambda i: i.token(tier="platinum"), 403, "tier 'platinum' is not a tier"),
        (
            lambda i: jwt.encode({"tenant": "acme", "aud": "genai-gateway"}, "", algorithm="none"),
            401,
            "algorithm",
        ),
        (hs256_with_public_key, 401, "algorithm"),
        (
            lambda i: i.token(key=SigningKey(i.key().kid, "RS256", SigningKey.generate("RS256").private)),
            401,
            "signature",
        ),
        (lambda i: i.token(key=SigningKey.generate("ES256")), 401, "a key the issuer does not publish"),
        (lambda i: tampered(i.token()), 401, "signature"),
        (lambda _: "not.a.jwt", 401, "well-formed JWT"),
    ],
    ids=[
        "audience",
        "issuer",
        "expired",
        "not-before",
        "no-exp",
        "no-tenant",
        "unknown-tier",
        "alg-none",
        "hs256-confusion",
        "forged-signature",
        "unpublished-key",
        "tampered",
        "garbage",
    ],
)
def test_invalid_tokens_are_refused(
    issuer: Issuer, make: Callable[[Issuer], str], status: int, phrase: str
) -> None:
    error = refusal(issuer, make(issuer))
    assert error.status == status and phrase in error.message, error.message
    assert isinstance(error, AuthenticationFailed if status == 401 else PermissionDenied)
    if status == 401:
        assert error.headers is not None and 'error="invalid_token"' in error.headers["www-authenticate"]


def test_expiry_and_not_before_have_the_leeway(issuer: Issuer) -> None:
    assert principal_of(issuer, issuer.token(exp=int(time.time()) - 10)).tenant == "acme"  # leeway 30 s
    assert principal_of(issuer, issuer.token(nbf=int(time.time()) + 10)).tenant == "acme"
    late = refusal(issuer, issuer.token(exp=int(time.time()) - 10), leeway_seconds=0)
    assert "expired" in late.message


def test_a_rotated_key_is_fetched_once_and_the_old_one_refused(issuer: Issuer) -> None:
    async def scenario(validator: OidcValidator) -> None:
        before = issuer.fetches.get(CERTS, 0)
        old = issuer.token()
        assert (await validator.principal(old)).tenant == "acme"
        await validator.principal(issuer.token({"sub": "other"}))  # same key: from the cache
        assert issuer.fetches[CERTS] == before + 1
        issuer.rotate()
        await asyncio.sleep(0.25)  # past min_refetch_seconds
        assert (
            await validator.principal(issuer.token({"sub": "rotated"}, key=issuer.key("ES256")))
        ).subject == "rotated"
        assert issuer.fetches[CERTS] == before + 2  # one refetch for the unknown kid
        with pytest.raises(AuthenticationFailed, match="does not publish"):
            await validator.principal(
                issuer.token({"sub": "old-key"}, key=SigningKey(old_kid, "RS256", old_key))
            )

    old_key, old_kid = issuer.key().private, issuer.key().kid
    using(validator_for(issuer), scenario)


def test_made_up_key_ids_do_not_hammer_the_issuer(issuer: Issuer) -> None:
    async def scenario(validator: OidcValidator) -> None:
        await validator.principal(issuer.token())
        before = issuer.fetches[CERTS]
        forged = SigningKey.generate("RS256")
        tokens = [issuer.token(key=SigningKey(uuid.uuid4().hex, "RS256", forged.private)) for _ in range(30)]
        results = await asyncio.gather(
            *(validator.principal(token) for token in tokens), return_exceptions=True
        )
        assert all(isinstance(result, AuthenticationFailed) for result in results)
        assert issuer.fetches[CERTS] - before <= 1

    using(validator_for(issuer, min_refetch_seconds=5.0), scenario)


def test_the_key_set_is_refetched_after_its_cache_time_and_jwks_url_skips_discovery(issuer: Issuer) -> None:
    async def scenario(validator: OidcValidator) -> None:
        before = dict(issuer.fetches)
        await validator.principal(issuer.token())
        await asyncio.sleep(0.35)
        await validator.principal(issuer.token({"sub": "later"}))
        assert issuer.fetches[CERTS] - before.get(CERTS, 0) == 2
        assert issuer.fetches.get(DISCOVERY, 0) == before.get(DISCOVERY, 0)

    using(validator_for(issuer, jwks_cache_seconds=0.3, jwks_url=issuer.url + CERTS), scenario)


def test_fault_issuer_down_is_503_until_it_is_back(issuer: Issuer) -> None:
    async def scenario(validator: OidcValidator) -> None:
        issuer.down = True
        try:
            with pytest.raises(AuthUnavailable):
                await validator.principal(issuer.token())
        finally:
            issuer.down = False
        await asyncio.sleep(0.25)
        assert (await validator.principal(issuer.token())).tenant == "acme"

    using(validator_for(issuer), scenario)


# --- through a real gateway ---------------------------------------------------------------------------------


def test_tokens_through_the_gateway_beside_api_keys(
    issuer: Issuer, echo_upstream_server: EchoUpstream, tmp_path: Path
) -> None:
    settings = auth_settings(tmp_path, echo_upstream_server.url, oidc=oidc_settings(issuer))
    recorder = Recorder()
    chain = PolicyChain([*build_chain(POLICIES, settings).policies, recorder])
    key = create_key(settings, "keyed").key
    with ServerThread(create_app(settings, chain=chain), settings=settings.gateway) as server:
        client = openai.OpenAI(
            base_url=f"{server.url}/v1", api_key=issuer.token({"tier": "premium"}), max_retries=0
        )
        answer = client.chat.completions.with_raw_response.create(model=CHAT_MODEL, messages=USER)
        record = recorder.of(answer.headers["x-request-id"])
        assert (record.tenant, record.subject, record.key_prefix) == ("acme", "user-1", None)
        keyed = openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)
        assert keyed.models.list().data
        with pytest.raises(openai.AuthenticationError) as refused:
            openai.OpenAI(
                base_url=f"{server.url}/v1", api_key=issuer.token(aud="x"), max_retries=0
            ).models.list()
        assert 'error="invalid_token"' in refused.value.response.headers["www-authenticate"]
        with pytest.raises(openai.PermissionDeniedError):
            openai.OpenAI(
                base_url=f"{server.url}/v1", api_key=issuer.token(tier="gold"), max_retries=0
            ).models.list()
        issuer.rotate()  # the gateway picks the new key up on its first token (after min_refetch_seconds)
        time.sleep(1.05)
        rotated = issuer.token({"sub": "after-rotation"}, key=issuer.key("ES256"))
        response = httpx.get(f"{server.url}/v1/models", headers={"authorization": f"Bearer {rotated}"})
        assert response.status_code == 200, response.text
