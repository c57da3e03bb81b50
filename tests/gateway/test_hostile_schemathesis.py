"""Schemathesis against the gateway's own OpenAPI document: generated valid and invalid requests for every
operation, over real HTTP to the gateway served as ``genai gateway`` serves it (real router), in front of the
echoing fake upstream (``test_fake_upstream_*``). Every answer must be no 5xx, documented, OpenAI's error
body when it is an error, and conform to the documented schema: streams included, event by event.

Bounded: a fixed number of examples per operation (derandomized, so a run is repeatable) keeps the whole
file to about half a minute here. Generated bodies name the routed model half of the time, so requests get
past the model lookup to the router and the upstream instead of stopping at 404.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import CheckFunction
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import positive_data_acceptance

from gateway.app import create_app
from tests.fixtures.gateway import CHAT_MODEL, EchoUpstream, FaultyRouter, ServerThread, gateway_settings

# GENAI_SCHEMATHESIS_EXAMPLES runs a longer search locally (the suite keeps the bounded default).
EXAMPLES_PER_OPERATION = int(os.environ.get("GENAI_SCHEMATHESIS_EXAMPLES", "40"))


@pytest.fixture(scope="module")
def gateway_url(
    echo_upstream_server: EchoUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    settings = gateway_settings(tmp_path_factory.mktemp("schemathesis-home"), echo_upstream_server.url)
    with ServerThread(create_app(settings), settings=settings.gateway) as server:
        yield server.url


def _document() -> dict[str, Any]:
    """The app's OpenAPI document (what GET /openapi.json answers; it does not depend on the settings)."""
    app = create_app(gateway_settings(Path("/nonexistent"), "http://127.0.0.1:9"), router=FaultyRouter())
    return app.openapi()


# Loaded at import: pytest needs the operations to collect one test each.
schema = schemathesis.openapi.from_dict(_document())


@pytest.fixture(scope="module")
def gateway_schema() -> Any:
    return schema


def aim_at_the_routed_model(case: Case) -> None:
    """Half the generated bodies ask for the model the router serves (chosen by the body's own hash, so
    a derandomized run stays repeatable)."""
    body = case.body
    # The echoing upstream has no embeddings API, and the in-process model is too slow to fuzz here.
    if case.operation.path == "/v1/embeddings":
        return
    if isinstance(body, dict) and isinstance(body.get("model"), str) and hash(repr(sorted(body))) % 2:
        body["model"] = CHAT_MODEL
        # The echoing upstream answers with the prompt's words, never JSON: asked for a JSON format, the
        # gateway rightly answers 502 response_format_failed (tests/gateway/output cover that answer).
        response_format = body.get("response_format")
        if isinstance(response_format, dict) and response_format.get("type") != "text":
            del body["response_format"]


def integral_floats_as_ints(value: Any) -> Any:
    """JSON Schema counts 73.0 as an integer; the gateway, like OpenAI ("expected an integer, but got a
    decimal number"), does not. Generated bodies say 73 where they meant an integer."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, list):
        return [integral_floats_as_ints(item) for item in value]
    if isinstance(value, dict):
        return {key: integral_floats_as_ints(item) for key, item in value.items()}
    return value


def exempt_checks(case: Case) -> list[CheckFunction] | None:
    """A batch file's content (JSONL of batch request lines) is more than a schema can say: a schema-valid
    upload of other bytes is rightly a 400 (the file, not the form, is wrong)."""
    upload = case.operation.method.upper() == "POST" and case.operation.path == "/v1/files"
    return [positive_data_acceptance] if upload else None


def assert_openai_error(response: Response) -> None:
    if response.status_code < 400:
        return
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str) and error["message"]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_fake_upstream_fuzzed_requests_get_documented_answers(case: Case, gateway_url: str) -> None:
    if isinstance(case.body, dict):
        case.body = integral_floats_as_ints(case.body)
    aim_at_the_routed_model(case)
    response = case.call_and_validate(base_url=gateway_url, timeout=30, excluded_checks=exempt_checks(case))
    assert_openai_error(response)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "one two"}]}),
        ("/v1/completions", {"prompt": "one two"}),
    ],
)
def test_fake_upstream_event_streams_conform_event_by_event(
    gateway_schema: Any, gateway_url: str, path: str, body: dict[str, Any]
) -> None:
    """A stream's events, [DONE] and a usage chunk included, each conform to the documented event."""
    options = {"stream": True, "stream_options": {"include_usage": True}}
    case = gateway_schema[path]["POST"].Case(
        body={"model": CHAT_MODEL, **body, **options}, media_type="application/json"
    )
    response = case.call_and_validate(base_url=gateway_url, timeout=30)
    assert response.headers["content-type"][0].startswith("text/event-stream")
    assert response.content.endswith(b"data: [DONE]\n\n")
