"""Schemathesis over the gateway's OpenAPI document with authentication on, through a real gateway over
HTTP (real router, the echoing fake upstream: ``test_fake_upstream_*``), with a valid credential (an API
key or an OIDC token), an invalid one (unknown, revoked or expired key, malformed header, forged or foreign
token) and none: never a 5xx, never a 2xx on /v1 without a valid credential (a 401 with the challenge),
and with a valid one every answer documented and conforming, schemathesis' own ``ignored_auth`` check
included (it resends the request with made-up credentials and expects 401).

Bounded like tests/gateway/test_hostile_schemathesis.py (derandomized, a fixed number of examples per
operation and mode).
"""

from __future__ import annotations

import itertools
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case

from gateway.app import create_app
from genai.accesskeys import create_key, revoke_key
from tests.fixtures.gateway import EchoUpstream, FaultyRouter
from tests.gateway.auth.conftest import auth_settings, oidc_settings, serve
from tests.gateway.auth.issuer import Issuer, SigningKey
from tests.gateway.test_hostile_schemathesis import (
    aim_at_the_routed_model,
    assert_openai_error,
    exempt_checks,
    integral_floats_as_ints,
)

EXAMPLES = int(os.environ.get("GENAI_SCHEMATHESIS_AUTH_EXAMPLES", "15"))
CREDENTIAL_HEADERS = ("authorization", "x-api-key")


@dataclass
class Credentials:
    url: str
    valid: list[dict[str, str]]
    invalid: list[dict[str, str]]


@pytest.fixture(scope="module")
def credentials(
    issuer: Issuer, echo_upstream_server: EchoUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Credentials]:
    home = tmp_path_factory.mktemp("fuzz-auth")
    gateway = auth_settings(home, echo_upstream_server.url, oidc=oidc_settings(issuer), key_cache_seconds=0.2)
    key = create_key(gateway, "acme").key
    revoked = create_key(gateway, "acme").key
    revoke_key(gateway, revoked[:12])
    expiring = create_key(gateway, "acme", expires_at=datetime.now(UTC) + timedelta(seconds=1)).key
    time.sleep(1.1)
    stranger = SigningKey.generate("RS256")
    invalid = [
        {"Authorization": "Bearer gk_" + secrets.token_urlsafe(32)},  # unknown
        {"Authorization": f"Bearer {revoked}"},
        {"x-api-key": expiring},
        {"Authorization": f"Basic {key}"},  # a valid key in the wrong scheme
        {
            "Authorization": "Bearer "
            + issuer.token(key=SigningKey(issuer.key().kid, "RS256", stranger.private))
        },
        {"Authorization": "Bearer " + issuer.token(aud="another-service")},
        {"Authorization": "Bearer " + issuer.token(exp=int(time.time()) - 3600)},
        {"x-api-key": key[:-1]},
    ]
    valid = [
        {"Authorization": f"Bearer {key}"},
        {"x-api-key": key},
        {"Authorization": "Bearer " + issuer.token()},
    ]
    with serve(gateway) as server:
        yield Credentials(server.url, valid, invalid)


def _document() -> dict[str, Any]:
    """The document of a gateway with authentication on (it does not depend on anything else)."""
    app = create_app(auth_settings(Path("/nonexistent"), "http://127.0.0.1:9"), router=FaultyRouter())
    return app.openapi()


schema = schemathesis.openapi.from_dict(_document())
_turns = itertools.count()


def prepared(case: Case) -> Case:
    """``case`` aimed like the hostile-input fuzz, without the credential headers it generated (each test
    sends its own, as explicit headers, so that schemathesis knows which are meant to be valid)."""
    if isinstance(case.body, dict):
        case.body = integral_floats_as_ints(case.body)
    aim_at_the_routed_model(case)
    if case.headers:
        for name in [name for name in case.headers if name.lower() in CREDENTIAL_HEADERS]:
            del case.headers[name]
    return case


def protected(case: Case) -> bool:
    return case.operation.path.startswith("/v1/")


fuzz = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


@schema.parametrize()
@fuzz
def test_fake_upstream_fuzzed_with_a_valid_credential(case: Case, credentials: Credentials) -> None:
    credential = credentials.valid[next(_turns) % len(credentials.valid)]
    response = prepared(case).call_and_validate(
        base_url=credentials.url, headers=credential, timeout=30, excluded_checks=exempt_checks(case)
    )
    assert response.status_code not in (401, 403), response.text  # the credential is good for every model
    assert_openai_error(response)


@schema.parametrize()
@fuzz
def test_fake_upstream_fuzzed_with_an_invalid_credential(case: Case, credentials: Credentials) -> None:
    credential = credentials.invalid[next(_turns) % len(credentials.invalid)]
    response = prepared(case).call(base_url=credentials.url, headers=credential, timeout=30)
    assert response.status_code < 500, (credential, response.text)
    if protected(case):
        assert response.status_code == 401, (credential, response.status_code, response.text)
        assert response.headers["www-authenticate"][0].startswith('Bearer realm="genai-gateway", error=')
        assert response.json()["error"]["type"] == "authentication_error"
    assert_openai_error(response)


@schema.parametrize()
@fuzz
def test_fake_upstream_fuzzed_without_a_credential(case: Case, credentials: Credentials) -> None:
    response = prepared(case).call(base_url=credentials.url, timeout=30)
    assert response.status_code < 500, response.text
    if protected(case):
        assert response.status_code == 401, (response.status_code, response.text)
        assert response.headers["www-authenticate"] == ['Bearer realm="genai-gateway"']
    assert_openai_error(response)
