"""API keys through a real gateway over HTTP (the official openai client and raw HTTP), on the embedded
SQLite database and on real PostgreSQL: every /v1 route needs a key, 401 before the body is read for a
missing, malformed, unknown, revoked or expired one, 403 and a filtered /v1/models for a key restricted to
other models, probes and metrics open, and the usage record names the key's tenant and prefix."""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import openai
import pytest

from gateway.app import create_app
from gateway.policies import PolicyChain, build_chain
from genai.accesskeys import create_key, revoke_key
from genai.settings import Settings
from tests.fixtures.gateway import CHAT_MODEL, USER, EchoUpstream, ServerThread
from tests.fixtures.services import backend_url
from tests.gateway.auth.conftest import POLICIES, auth_settings, serve
from tests.gateway.auth.recorder import Recorder

CACHE_SECONDS = 0.5
CHALLENGE = 'Bearer realm="genai-gateway"'
V1_ROUTES = [
    ("POST", "/v1/chat/completions"),
    ("POST", "/v1/completions"),
    ("POST", "/v1/embeddings"),
    ("GET", "/v1/models"),
    ("GET", f"/v1/models/{CHAT_MODEL}"),
    ("GET", "/v1/files"),  # routes to come are covered already
    ("POST", "/v1/batches"),
    ("GET", "/v1/fine_tuning/jobs"),
]


@dataclass
class Keyed:
    url: str
    settings: Settings
    recorder: Recorder

    def key(self, tenant: str = "acme", **options: Any) -> str:
        return create_key(self.settings, tenant, **options).key

    def client(self, key: str) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=key, max_retries=0)

    def get(self, path: str, **headers: str) -> httpx.Response:
        return httpx.get(self.url + path, headers=headers, timeout=30)


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", marks=pytest.mark.postgres, id="postgres"),
    ],
)
def keyed(
    request: pytest.FixtureRequest,
    echo_upstream_server: EchoUpstream,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Keyed]:
    home = tmp_path_factory.mktemp(f"auth-{request.param}")
    url = backend_url(request, home)
    settings = auth_settings(home, echo_upstream_server.url, url, key_cache_seconds=CACHE_SECONDS)
    recorder = Recorder()
    chain = PolicyChain([*build_chain(POLICIES, settings).policies, recorder])
    with ServerThread(create_app(settings, chain=chain), settings=settings.gateway) as server:
        yield Keyed(server.url, settings, recorder)


def assert_401(response: httpx.Response, code: str) -> dict[str, Any]:
    assert response.status_code == 401, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["type"] == "authentication_error" and error["code"] == code, error
    assert response.headers["www-authenticate"].startswith(CHALLENGE)
    return error


def test_a_key_is_served_by_the_openai_client_and_recorded_with_its_tenant(keyed: Keyed) -> None:
    key = keyed.key("acme", tier="premium")
    client = keyed.client(key)
    chat = client.chat.completions.with_raw_response.create(model=CHAT_MODEL, messages=USER)
    assert chat.parse().choices[0].message.content == "echo: hello big world"
    assert client.completions.create(model=CHAT_MODEL, prompt="one two").choices[0].text == "echo: one two"
    assert CHAT_MODEL in [model.id for model in client.models.list()]
    stream = client.chat.completions.create(model=CHAT_MODEL, messages=USER, stream=True)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices).strip()
    record = keyed.recorder.of(chat.headers["x-request-id"])
    assert (record.status, record.tenant, record.key_prefix) == (200, "acme", key[:12])


def test_the_key_may_come_in_x_api_key(keyed: Keyed) -> None:
    key = keyed.key()
    response = httpx.post(
        f"{keyed.url}/v1/chat/completions",
        json={"model": CHAT_MODEL, "messages": USER},
        headers={"x-api-key": key},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("method", "path"), V1_ROUTES)
def test_every_v1_route_without_a_credential_is_401(keyed: Keyed, method: str, path: str) -> None:
    response = httpx.request(method, keyed.url + path, json={"model": CHAT_MODEL, "input": "x"}, timeout=30)
    error = assert_401(response, "missing_api_key")
    assert response.headers["www-authenticate"] == CHALLENGE
    assert "Authorization: Bearer" in error["message"]
    record = keyed.recorder.of(response.headers["x-request-id"])
    assert (record.status, record.tenant, record.error_type) == (401, None, "missing_api_key")


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        ("Basic dXNlcjpwYXNz", "invalid_authorization_header"),
        ("Bearer", "invalid_authorization_header"),
        ("Bearer gk_short", "invalid_api_key"),
        ("Bearer sk-proj-0123456789", "invalid_api_key"),
        ("Bearer eyJhbGciOiJIUzI1NiJ9.e30.x", "invalid_api_key"),  # a JWT, and no OIDC issuer configured
        ("Bearer gk_" + "é" * 43, "invalid_api_key"),
    ],
)
def test_malformed_credentials_are_401(keyed: Keyed, authorization: str, code: str) -> None:
    headers = {"authorization": authorization.encode("utf-8")}
    response = httpx.get(f"{keyed.url}/v1/models", headers=headers)  # type: ignore[arg-type]
    assert_401(response, code)
    assert "error=" in response.headers["www-authenticate"]


def test_an_unknown_key_is_401_for_the_openai_client(keyed: Keyed) -> None:
    unknown = "gk_" + secrets.token_urlsafe(32)
    with pytest.raises(openai.AuthenticationError) as refused:
        keyed.client(unknown).chat.completions.create(model=CHAT_MODEL, messages=USER)
    assert refused.value.status_code == 401
    assert unknown not in refused.value.message  # a credential is never echoed


def test_401_is_answered_before_the_body_is_read(keyed: Keyed) -> None:
    """The headers announce 100 kB and no byte of it is sent: the answer comes anyway."""
    with socket.create_connection(("127.0.0.1", int(keyed.url.rsplit(":", 1)[1])), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\n\r\n"
        )
        started = time.monotonic()
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 401"), answer
    assert time.monotonic() - started < 2


def test_a_revoked_key_stops_within_the_cache_time(keyed: Keyed) -> None:
    key = keyed.key()
    assert keyed.get("/v1/models", authorization=f"Bearer {key}").status_code == 200
    revoke_key(keyed.settings, key[:12])
    revoked = time.monotonic()
    while (response := keyed.get("/v1/models", authorization=f"Bearer {key}")).status_code == 200:
        assert time.monotonic() - revoked < CACHE_SECONDS + 1.0, "still served after the cache time"
        time.sleep(0.05)
    assert_401(response, "revoked_api_key")


def test_an_expired_key_is_refused(keyed: Keyed) -> None:
    expires = datetime.now(UTC) + timedelta(seconds=1.5)
    key = keyed.key(expires_at=expires)
    assert keyed.get("/v1/models", authorization=f"Bearer {key}").status_code == 200
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.05)
    assert_401(keyed.get("/v1/models", authorization=f"Bearer {key}"), "expired_api_key")


def test_a_key_restricted_to_other_models_is_403_and_sees_only_them(keyed: Keyed) -> None:
    other = keyed.client(keyed.key(models=["another-model"]))
    with pytest.raises(openai.PermissionDeniedError) as refused:
        other.chat.completions.create(model=CHAT_MODEL, messages=USER)
    assert refused.value.status_code == 403
    assert refused.value.code == "model_not_allowed" and "another-model" in refused.value.message
    with pytest.raises(openai.PermissionDeniedError):
        other.chat.completions.create(model=CHAT_MODEL, messages=USER, stream=True)
    assert [model.id for model in other.models.list()] == []
    with pytest.raises(openai.PermissionDeniedError):
        other.models.retrieve(CHAT_MODEL)
    allowed = keyed.client(keyed.key(models=[CHAT_MODEL]))
    assert allowed.chat.completions.create(model=CHAT_MODEL, messages=USER).choices
    assert [model.id for model in allowed.models.list()] == [CHAT_MODEL]


def test_probes_and_metrics_stay_open(keyed: Keyed) -> None:
    for path in ("/healthz", "/health", "/metrics", "/openapi.json"):
        assert keyed.get(path).status_code == 200, path
    assert keyed.get("/readyz").status_code in (200, 503)  # readiness, never a credential question


def test_the_openapi_document_asks_for_a_credential(keyed: Keyed) -> None:
    document = keyed.get("/openapi.json").json()
    assert set(document["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    chat = document["paths"]["/v1/chat/completions"]["post"]
    assert chat["security"] == [{"bearer": []}, {"apiKey": []}] and {"401", "403"} <= set(chat["responses"])
    assert "security" not in document["paths"]["/healthz"]["get"]


def test_protect_metrics_puts_metrics_behind_a_key(echo_upstream_server: EchoUpstream, tmp_path: Any) -> None:
    settings = auth_settings(tmp_path, echo_upstream_server.url, protect_metrics=True)
    key = create_key(settings, "ops").key
    with serve(settings) as server:
        assert_401(httpx.get(f"{server.url}/metrics"), "missing_api_key")
        assert httpx.get(f"{server.url}/metrics", headers={"x-api-key": key}).status_code == 200
        assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_authentication_off_serves_everyone_as_anonymous(
    echo_upstream_server: EchoUpstream, tmp_path: Any
) -> None:
    settings = auth_settings(tmp_path, echo_upstream_server.url, enabled=False)
    recorder = Recorder()
    chain = PolicyChain([*build_chain(POLICIES, settings).policies, recorder])
    with ServerThread(create_app(settings, chain=chain), settings=settings.gateway) as server:
        response = httpx.post(
            f"{server.url}/v1/chat/completions", json={"model": CHAT_MODEL, "messages": USER}
        )
        assert response.status_code == 200
        assert recorder.of(response.headers["x-request-id"]).tenant == "anonymous"
        assert "securitySchemes" not in httpx.get(f"{server.url}/openapi.json").json()["components"]


def test_fault_key_database_unreachable_is_503_not_500(
    echo_upstream_server: EchoUpstream, tmp_path: Any
) -> None:
    """A real fault: the database URL names a port nobody listens on."""
    dead = "postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=2"
    settings = auth_settings(tmp_path, echo_upstream_server.url, dead)
    with serve(settings) as server:
        key = "gk_" + secrets.token_urlsafe(32)
        response = httpx.get(f"{server.url}/v1/models", headers={"x-api-key": key}, timeout=30)
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "auth_unavailable"
        assert httpx.get(f"{server.url}/healthz").status_code == 200
