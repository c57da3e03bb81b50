"""The OpenAPI document's account of authentication: the two ways to send a credential (security
schemes), which operations need one (every ``/v1/...`` operation), and their 401 and 403 answers.

Documented when the gateway's policy chain authenticates (the ``auth`` policy with ``auth.enabled``): the
document says what this gateway asks for, and schemathesis checks the gateway against it (its
``ignored_auth`` check sends invalid credentials to every operation that declares a requirement).
"""

from __future__ import annotations

from typing import Any

_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key (`gk_...`, from `genai keys create`) or an OIDC access token (a JWT).",
    },
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": "An API key (`gk_...`).",
    },
}
UNAUTHORIZED = {
    "description": "No credential, or one that is malformed, unknown, revoked or expired "
    "(with a `WWW-Authenticate: Bearer` challenge).",
    "content": _ERROR,
}
FORBIDDEN = {"description": "The credential may not use this model.", "content": _ERROR}


def document_security(document: dict[str, Any]) -> None:
    """Add the security schemes, and to every ``/v1/...`` operation its requirement and 401 / 403
    answers; ``/metrics`` may answer 401 too (``auth.protect_metrics``)."""
    document.setdefault("components", {}).setdefault("securitySchemes", {}).update(SCHEMES)
    for path, item in document.get("paths", {}).items():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            if path.startswith("/v1/"):
                operation["security"] = [{"bearer": []}, {"apiKey": []}]
                responses.setdefault("401", UNAUTHORIZED)
                responses.setdefault("403", FORBIDDEN)
            elif path == "/metrics":
                responses.setdefault("401", UNAUTHORIZED)
