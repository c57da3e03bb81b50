"""Settings of the gateway's authentication: API keys (hashed in the SQL database) and OIDC bearer tokens.

On by default: every OpenAI endpoint needs a credential, ``/healthz``, ``/readyz`` and ``/metrics`` stay
open (``protect_metrics`` puts the metrics behind a key too). On a laptop, ``GENAI_AUTH__ENABLED=false``
switches it off. The platform's own clients (the evaluation and batch flows, ``genai eval run``) present
the key in ``client_key``, else the one in ``client_key_file`` (``genai up`` writes a first key there).

Example (genai.yaml)::

    auth:
      oidc:
        issuer: https://login.example.com/realms/data
        audience: genai-gateway
        tenant_claim: org
        tier_claim: plan
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from genai.settings.section import SettingsSection


class OidcSettings(SettingsSection):
    """An OpenID Connect issuer whose JWTs the gateway accepts as bearer tokens."""

    issuer: str = Field(description="The token's `iss`, e.g. https://login.example.com/realms/data.")
    audience: str = Field(description="The `aud` the token must name.")
    jwks_url: str | None = Field(
        None, description="The issuer's key set; default: jwks_uri of its /.well-known/openid-configuration."
    )
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"])
    tenant_claim: str = Field("tenant", description="The claim that names the caller's tenant.")
    tier_claim: str | None = Field("tier", description="The claim that names the tier; None: default_tier.")
    default_tier: str = "default"
    leeway_seconds: float = Field(30.0, ge=0, description="Clock skew allowed on exp and nbf.")
    jwks_cache_seconds: float = Field(300.0, gt=0, description="How long fetched keys are trusted.")


class AuthSettings(SettingsSection):
    """Who may call the gateway."""

    enabled: bool = Field(True, description="False: every request is served as the `anonymous` tenant.")
    api_keys: bool = Field(True, description="Accept API keys (Authorization: Bearer gk_... or x-api-key).")
    oidc: OidcSettings | None = None
    protect_metrics: bool = Field(False, description="Require a credential for /metrics too.")
    key_cache_seconds: float = Field(
        5.0,
        ge=0,
        description="How long a checked key is trusted before the database is asked again "
        "(a revoked key stops working within this).",
    )
    client_key: SecretStr | None = Field(None, description="The key the platform's own clients send.")
    client_key_file: Path | None = Field(None, description="Default: home/gateway-client.key.")
