"""The credential a request presents: ``Authorization: Bearer ...`` or ``x-api-key: ...``, and the
401 answers for one that is missing or malformed (with RFC 6750's ``WWW-Authenticate`` challenge).

Reading the raw ASGI headers costs one pass over them and no decoding beyond the one value used.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from gateway.errors import AuthenticationFailed

REALM = "genai-gateway"
API_KEY = re.compile(r"gk_[A-Za-z0-9_-]{43}")  # genai.accesskeys.new_key's shape, checked before any lookup
_MAX_CREDENTIAL = 16_384  # a JWT with many claims fits; anything longer is not a credential


def challenge(error: str | None = None, description: str | None = None) -> str:
    """The ``WWW-Authenticate`` value: the bare challenge for a missing credential, else with the
    error (``invalid_request`` for a malformed header, ``invalid_token`` for a bad credential)."""
    value = f'Bearer realm="{REALM}"'
    if error:
        value += f', error="{error}"'
    if description:
        value += ', error_description="' + description.replace('"', "'").replace("\\", "/") + '"'
    return value


def unauthorized(
    message: str, *, error: str | None = "invalid_token", code: str = "invalid_api_key"
) -> AuthenticationFailed:
    """A 401 that says ``message`` (never echoing the credential) with its challenge."""
    failure = AuthenticationFailed(message, code=code)
    failure.headers = {"www-authenticate": challenge(error, message if error else None)}
    return failure


def missing() -> AuthenticationFailed:
    return unauthorized(
        "You didn't provide an API key. Send it as 'Authorization: Bearer gk_...' (or 'x-api-key: gk_...'), "
        "or an OIDC access token as 'Authorization: Bearer <token>'.",
        error=None,
        code="missing_api_key",
    )


def malformed(message: str) -> AuthenticationFailed:
    return unauthorized(message, error="invalid_request", code="invalid_authorization_header")


def presented(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The credential in ``headers`` (``Authorization`` wins over ``x-api-key``); 401 when none, or when
    the header is not ``Bearer <credential>``."""
    authorization: bytes | None = None
    api_key: bytes | None = None
    for name, value in headers:
        if name == b"authorization":
            authorization = value
        elif name == b"x-api-key":
            api_key = value
    if authorization is not None:
        scheme, _, credential = authorization.strip().partition(b" ")
        if scheme.lower() != b"bearer":
            raise malformed("The Authorization header must be 'Bearer <API key or token>'.")
        return _text(credential.strip())
    if api_key is not None:
        return _text(api_key.strip())
    raise missing()


def _text(value: bytes) -> str:
    if not value:
        raise malformed("The credential is empty.")
    if len(value) > _MAX_CREDENTIAL or not value.isascii():
        raise unauthorized("The credential is not an API key or a token the gateway accepts.")
    return value.decode("ascii")
