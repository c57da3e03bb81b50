"""A local OpenID Connect issuer for the authentication tests: a real HTTP server (http.server in a
thread) serving a discovery document and a JWKS made of RSA and EC keys the test generates, and signing
tokens with them. ``rotate()`` replaces the published keys, as an issuer rotating its keys does."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

AUDIENCE = "genai-gateway"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass
class SigningKey:
    kid: str
    algorithm: str  # RS256 or ES256
    private: PrivateKey

    @classmethod
    def generate(cls, algorithm: str) -> SigningKey:
        private: PrivateKey
        if algorithm == "RS256":
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            private = ec.generate_private_key(ec.SECP256R1())
        return cls(f"{algorithm.lower()}-{uuid.uuid4().hex[:8]}", algorithm, private)

    def jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            data = json.loads(RSAAlgorithm.to_jwk(public))
        else:
            data = json.loads(ECAlgorithm.to_jwk(public))
        return {**data, "kid": self.kid, "alg": self.algorithm, "use": "sig"}


@dataclass
class Issuer:
    """The issuer's state: its published keys and how often each document was fetched."""

    url: str = ""
    keys: list[SigningKey] = field(default_factory=list)
    fetches: dict[str, int] = field(default_factory=dict)
    down: bool = False  # answer 503 to everything

    @property
    def issuer(self) -> str:
        return self.url + "/realms/test"

    def rotate(self) -> None:
        """Publish new keys (one RSA, one EC) in place of the old ones."""
        self.keys = [SigningKey.generate("RS256"), SigningKey.generate("ES256")]

    def key(self, algorithm: str = "RS256") -> SigningKey:
        return next(key for key in self.keys if key.algorithm == algorithm)

    def token(
        self,
        claims: dict[str, Any] | None = None,
        *,
        key: SigningKey | None = None,
        lifetime: float = 300,
        headers: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> str:
        """A token signed by ``key`` (default: the RSA key), for the gateway's audience, tenant ``acme``."""
        key = key or self.key()
        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": "user-1",
            "iat": now,
            "nbf": now,
            "exp": now + int(lifetime),
            "tenant": "acme",
            **(claims or {}),
            **overrides,
        }
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(
            payload, key.private, algorithm=key.algorithm, headers={"kid": key.kid, **(headers or {})}
        )

    def document(self, path: str) -> dict[str, Any] | None:
        if path == "/realms/test/.well-known/openid-configuration":
            return {"issuer": self.issuer, "jwks_uri": self.issuer + "/protocol/openid-connect/certs"}
        if path == "/realms/test/protocol/openid-connect/certs":
            return {"keys": [key.jwk() for key in self.keys]}
        return None


def serve_issuer() -> tuple[Issuer, ThreadingHTTPServer]:
    """The issuer, started on a free port (stop it with ``server.shutdown()``)."""
    state = Issuer()
    state.rotate()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.fetches[self.path] = state.fetches.get(self.path, 0) + 1
            document = None if state.down else state.document(self.path)
            body = json.dumps(document or {"error": "not found"}).encode()
            self.send_response(200 if document else (503 if state.down else 404))
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, name="oidc-issuer", daemon=True).start()
    return state, server
