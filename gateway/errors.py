"""Errors the gateway answers with, in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``.

Every failure a client can see is a ``GatewayError`` with the HTTP status that fits it; the app's exception
handlers turn it into the JSON body (or, inside a stream that already started, into an SSE error event).
"""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    """A failure with an HTTP status and an OpenAI-style error body."""

    status: int = 500
    type: str = "server_error"
    code: str | None = None
    headers: dict[str, str] | None = None  # extra response headers (Retry-After...)

    def __init__(
        self, message: str, *, param: str | None = None, code: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


class InvalidRequest(GatewayError):
    """400: the body does not follow the schema; ``param`` names the field."""

    status = 400
    type = "invalid_request_error"


class AuthenticationFailed(GatewayError):
    """401: a missing, malformed, unknown, revoked or expired credential (``headers`` carries the
    ``WWW-Authenticate`` challenge)."""

    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class PermissionDenied(GatewayError):
    """403: a valid credential that may not do this (a model the key is not allowed to use)."""

    status = 403
    type = "permission_error"
    code = "model_not_allowed"


class AuthUnavailable(GatewayError):
    """503: a credential could not be checked (the key database or the OIDC issuer did not answer)."""

    status = 503
    type = "server_error"
    code = "auth_unavailable"


class ModelNotFound(GatewayError):
    """404: no route for the requested model."""

    status = 404
    type = "invalid_request_error"
    code = "model_not_found"


class BodyTooLarge(GatewayError):
    status = 413
    type = "invalid_request_error"
    code = "request_too_large"


class RateLimited(GatewayError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"


class UpstreamFailed(GatewayError):
    """502: every upstream that could serve the request failed or answered garbage."""

    status = 502
    type = "upstream_error"
    code = "bad_gateway"


class NoHealthyUpstream(GatewayError):
    """503: no worker of any upstream in the model's chain is up (all down or circuits open)."""

    status = 503
    type = "upstream_error"
    code = "service_unavailable"


class DeadlineExceeded(GatewayError):
    """504: the request's deadline passed before an upstream answered."""

    status = 504
    type = "timeout_error"
    code = "gateway_timeout"


class UnsupportedMediaType(GatewayError):
    """415: a body that is not declared ``application/json`` (a browser form or ``text/plain`` post)."""

    status = 415
    type = "invalid_request_error"
    code = "unsupported_media_type"


class RequestTimeout(GatewayError):
    """408: the client took longer than the gateway allows to send its request."""

    status = 408
    type = "invalid_request_error"
    code = "request_timeout"


class ClientClosedRequest(GatewayError):
    """499 (nginx's "client closed request"): the client left before its body arrived. Nobody reads the
    answer; the status is for metrics and the access log."""

    status = 499
    type = "invalid_request_error"
    code = "client_closed"
