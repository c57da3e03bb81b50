"""Hostile HTTP: malformed and oversized heads, slow clients, idle connections, clients that leave mid-body,
bodies not declared JSON, and huge model names. Raw sockets against the gateway served the way
``genai gateway`` serves it (``gateway.server``), with short limits so the timeouts show in a test. A
scripted router stands in for the upstreams (``test_fault_*``): these requests never reach it, or only to
be refused.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from gateway.app import create_app
from gateway.errors import UpstreamFailed
from tests.fixtures.gateway import FaultyRouter, ServerThread, gateway_settings

LIMITS: dict[str, Any] = {
    "max_header_bytes": 4096,
    "header_timeout_seconds": 0.6,
    "body_timeout_seconds": 0.6,
    "keep_alive_seconds": 1,
    "max_connections": 8,
}
CHAT = b'{"model":"m","messages":[{"role":"user","content":"hi"}]}'


class Logged(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    router = FaultyRouter()
    router.error = UpstreamFailed("the scripted router answers nothing")
    settings = gateway_settings(tmp_path_factory.mktemp("hostile-http"), "http://127.0.0.1:9")
    settings.gateway.request_limits = settings.gateway.request_limits.model_copy(update=LIMITS)
    app = create_app(settings, router=router)
    with ServerThread(app, settings=settings.gateway) as running:
        yield running


@pytest.fixture
def logged() -> Iterator[Logged]:
    handler = Logged()
    target = logging.getLogger("gateway")
    target.addHandler(handler)
    yield handler
    target.removeHandler(handler)


def connect(server: ServerThread) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def exchange(server: ServerThread, raw: bytes) -> tuple[int, dict[bytes, bytes], Any]:
    """Send ``raw`` on a new connection; the status, headers and JSON body of the answer."""
    with connect(server) as sock:
        sock.sendall(raw)
        return parse(read_all(sock))


def parse(answer: bytes) -> tuple[int, dict[bytes, bytes], Any]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.split(b"\r\n")
    headers = dict(line.lower().split(b": ", 1) for line in lines)
    return int(status_line.split()[1]), headers, orjson.loads(body)


def assert_openai_error(status: int, headers: dict[bytes, bytes], body: Any, expected: int) -> str:
    assert status == expected, body
    assert headers[b"content-type"] == b"application/json"
    assert set(body["error"]) == {"message", "type", "param", "code"}
    message: str = body["error"]["message"]
    return message


def metric(server: ServerThread, status: int) -> float:
    text = httpx.get(f"{server.url}/metrics").text
    prefix = f'genai_gateway_requests_total{{endpoint="chat",model="",status="{status}"}} '
    return sum(float(line[len(prefix) :]) for line in text.splitlines() if line.startswith(prefix))


def post_head(length: int, content_type: bytes = b"application/json") -> bytes:
    return (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nContent-Type: " + content_type + b"\r\n"
        b"Content-Length: " + str(length).encode() + b"\r\n\r\n"
    )


# --- what the HTTP parser refuses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nNo colon here\r\n\r\n",
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nContent-Length: 5\r\n"
        b"Content-Length: 7\r\n\r\n",
        b"GARBAGE\x00\x01 / HTTP/1.1\r\n\r\n",
    ],
    ids=["header_without_colon", "length_and_chunked", "two_lengths", "binary_method"],
)
def test_fault_requests_the_parser_refuses_get_openai_json(server: ServerThread, raw: bytes) -> None:
    status, headers, body = exchange(server, raw)
    assert_openai_error(status, headers, body, 400)
    assert body["error"]["code"] == "invalid_http_request"


def test_fault_headers_over_the_limit_are_431(server: ServerThread) -> None:
    raw = b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nX-Big: " + b"a" * 8192 + b"\r\n\r\n"
    status, headers, body = exchange(server, raw)
    message = assert_openai_error(status, headers, body, 431)
    assert "4096" in message


def test_fault_headers_under_the_limit_are_served(server: ServerThread) -> None:
    raw = (
        b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nX-Big: " + b"a" * 3000 + b"\r\nConnection: close\r\n\r\n"
    )
    with connect(server) as sock:
        sock.sendall(raw)
        assert read_all(sock).startswith(b"HTTP/1.1 200")


# --- slow and idle clients ----------------------------------------------------------------------------


def test_fault_slow_headers_are_408(server: ServerThread) -> None:
    with connect(server) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\n")
        started = time.monotonic()
        status, headers, body = parse(read_all(sock))
        waited = time.monotonic() - started
    assert_openai_error(status, headers, body, 408)
    assert waited < 5 * LIMITS["header_timeout_seconds"]


def test_fault_a_connection_that_sends_nothing_is_closed(server: ServerThread) -> None:
    with connect(server) as sock:
        started = time.monotonic()
        assert read_all(sock) == b""
        assert time.monotonic() - started < 5 * LIMITS["header_timeout_seconds"]


def test_fault_idle_keep_alive_connections_are_closed(server: ServerThread) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n")
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        assert read_all(sock) == b""  # the server closed the idle connection
        assert time.monotonic() - started < 5 * LIMITS["keep_alive_seconds"]


def test_fault_slow_body_is_408_and_counted(server: ServerThread, logged: Logged) -> None:
    before = metric(server, 408)
    with connect(server) as sock:
        sock.sendall(post_head(len(CHAT)) + CHAT[:10])
        status, headers, body = parse(read_all(sock))
    assert_openai_error(status, headers, body, 408)
    assert "body" in body["error"]["message"]
    deadline = time.monotonic() + 5
    while metric(server, 408) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert metric(server, 408) == before + 1
    assert not [record for record in logged.records if record.exc_info]


def test_fault_client_leaving_mid_body_is_499_without_traceback(server: ServerThread, logged: Logged) -> None:
    before_499, before_500 = metric(server, 499), metric(server, 500)
    with connect(server) as sock:
        sock.sendall(post_head(len(CHAT)) + CHAT[:10])
        time.sleep(0.1)
    deadline = time.monotonic() + 5
    while metric(server, 499) == before_499 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert metric(server, 499) == before_499 + 1
    assert metric(server, 500) == before_500
    assert not [record for record in logged.records if record.exc_info or record.levelno >= logging.ERROR]


def test_fault_connections_past_the_limit_get_503_json(server: ServerThread) -> None:
    held = [connect(server) for _ in range(LIMITS["max_connections"])]
    try:
        time.sleep(0.1)
        status, headers, body = exchange(server, b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n")
    finally:
        for sock in held:
            sock.close()
    assert_openai_error(status, headers, body, 503)
    assert headers[b"retry-after"] == b"1"


# --- bodies not declared JSON, and echoed values ------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [b"text/plain", b"application/x-www-form-urlencoded", b"multipart/form-data; boundary=x", b"", None],
)
def test_fault_a_body_not_declared_json_is_415(server: ServerThread, content_type: bytes | None) -> None:
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n"
    if content_type is not None:
        head += b"Content-Type: " + content_type + b"\r\n"
    raw = head + b"Content-Length: " + str(len(CHAT)).encode() + b"\r\n\r\n" + CHAT
    status, headers, body = exchange(server, raw)
    message = assert_openai_error(status, headers, body, 415)
    assert "application/json" in message


@pytest.mark.parametrize(
    "content_type",
    [b"application/json; charset=utf-8", b"Application/JSON", b'application/json;charset="UTF-8"'],
)
def test_fault_json_with_parameters_is_accepted(server: ServerThread, content_type: bytes) -> None:
    status, _, body = exchange(
        server, post_head(len(CHAT), content_type)[:-2] + b"Connection: close\r\n\r\n" + CHAT
    )
    assert status == 502, body  # past the checks: the scripted router's answer


def test_fault_a_huge_model_name_is_not_echoed(server: ServerThread, logged: Logged) -> None:
    name = "m" * 3_000_000
    raw = orjson.dumps({"model": name, "messages": [{"role": "user", "content": "hi"}]})
    with connect(server) as sock:
        sock.sendall(post_head(len(raw))[:-2] + b"Connection: close\r\n\r\n" + raw)
        answer = read_all(sock)
    status, headers, body = parse(answer)
    assert_openai_error(status, headers, body, 400)
    assert body["error"]["param"] == "model"
    assert len(answer) < 1000
    logged_text = "".join(str(record.__dict__) for record in logged.records)
    assert "m" * 1000 not in logged_text


def test_fault_an_unknown_long_model_name_is_clipped(server: ServerThread) -> None:
    name = "x" * 250
    response = httpx.post(
        f"{server.url}/v1/chat/completions",
        json={"model": name, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 404
    assert name not in response.json()["error"]["message"]
    assert name[:100] + "…" in response.json()["error"]["message"]


def test_fault_a_long_unknown_path_is_clipped(server: ServerThread) -> None:
    path = "/v1/" + "p" * 2000
    response = httpx.get(f"{server.url}{path}")
    assert response.status_code == 404
    assert len(response.json()["error"]["message"]) < 300


def test_fault_keys_of_any_length_are_clipped_in_errors(server: ServerThread) -> None:
    key = "k" * 100_000
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "logit_bias": {key: "x"}}
    response = httpx.post(f"{server.url}/v1/chat/completions", json=body)
    assert response.status_code == 400
    assert len(response.content) < 1000
    assert response.json()["error"]["param"].startswith("logit_bias.kkk")
