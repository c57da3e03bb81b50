"""The ``auth`` policy: who may call the gateway, and which models they may use.

``authenticate`` runs in the middleware for every request before its body is read (the policy chain's
authentication hook): every ``/v1/...`` path needs a credential (``/metrics`` too with
``auth.protect_metrics``); health probes and the OpenAPI document stay open. A credential is an API key
(``gk_...``, checked by ``gateway.auth.keys``) or, with ``auth.oidc`` set, an OIDC JWT
(``gateway.auth.oidc``), sent as ``Authorization: Bearer ...`` or ``x-api-key``. A missing, malformed,
unknown, revoked or expired one is a 401 with a ``WWW-Authenticate`` challenge.

``before`` refuses (403) a model the credential may not use, once the model is known: a key restricted to
``qa`` may use ``qa``, ``qa@challenger`` and ``qa/3``. ``/v1/models`` lists only the allowed models.

With ``auth.enabled`` false the policy is ``OpenAccess``: every request is the ``anonymous`` principal
and nothing is checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gateway.auth import credentials
from gateway.auth.keys import KeyStore
from gateway.auth.oidc import OidcValidator
from gateway.errors import PermissionDenied
from gateway.policies.base import Answer, Call, Policy
from gateway.principal import Principal

if TYPE_CHECKING:
    from genai.settings import Settings

_API_PREFIX = "/v1/"


class AuthPolicy(Policy):
    """Authentication (API keys, OIDC tokens) and the models a credential may use."""

    name = "auth"

    def __init__(
        self,
        keys: KeyStore | None,
        oidc: OidcValidator | None,
        *,
        protect_metrics: bool = False,
    ) -> None:
        self.keys = keys
        self.oidc = oidc
        self.protect_metrics = protect_metrics

    @classmethod
    def from_settings(cls, settings: Settings | None) -> Policy:
        """The policy of ``settings.auth``; with authentication off, ``OpenAccess`` (no hook at all)."""
        if settings is None:
            from genai.settings import get_settings

            settings = get_settings()
        auth = settings.auth
        if not auth.enabled:
            return OpenAccess()
        keys = KeyStore.from_settings(settings) if auth.api_keys else None
        oidc = (
            OidcValidator(auth.oidc, settings.tenants, settings.limits.tiers)
            if auth.oidc is not None
            else None
        )
        return cls(keys, oidc, protect_metrics=auth.protect_metrics)

    def protects(self, path: str) -> bool:
        """Whether ``path`` needs a credential."""
        if path.startswith(_API_PREFIX) or path == "/v1":
            return True
        return self.protect_metrics and path == "/metrics"

    async def authenticate(self, headers: Sequence[tuple[bytes, bytes]], path: str) -> Principal | None:
        if not self.protects(path):
            return None
        credential = credentials.presented(headers)
        if credential.startswith("gk_"):
            if self.keys is None:
                raise credentials.unauthorized(
                    "This gateway does not accept API keys (auth.api_keys is off)."
                )
            if not credentials.API_KEY.fullmatch(credential):
                raise credentials.unauthorized(
                    "Incorrect API key provided: not a key of this gateway's shape."
                )
            return await self.keys.principal(credential)
        if self.oidc is not None:
            return await self.oidc.principal(credential)
        raise credentials.unauthorized("Incorrect API key provided: the gateway's keys start with 'gk_'.")

    async def before(self, call: Call) -> Answer | None:
        principal = call.ctx.principal
        if principal is None or principal.models is None:
            return None
        if may_use(principal, call.model, call.ctx.version.name if call.ctx.version is not None else None):
            return None
        raise PermissionDenied(
            f"This credential may not use the model '{call.model[:100]}' "
            f"(it may use: {', '.join(sorted(principal.models))}).",
            param="model",
        )

    async def close(self) -> None:
        if self.oidc is not None:
            await self.oidc.close()


class OpenAccess(Policy):
    """``auth`` with ``auth.enabled`` false: no hook at all, so the chain does not authenticate and every
    request is ``ANONYMOUS`` at no cost (and the OpenAPI document asks for no credential)."""

    name = "auth"


def may_use(principal: Principal, model: str, registered_name: str | None = None) -> bool:
    """Whether ``principal`` may use ``model``: by the name sent, or for a registry reference
    (``qa@challenger``, ``qa/3``) by its registered model's name."""
    if principal.may_use(model):
        return True
    return registered_name is not None and principal.may_use(registered_name)
