"""/v1/files through a real gateway with API keys, with the official openai client, on SQLite and on
PostgreSQL: upload, list (paged), retrieve, content, delete; another tenant's file is a 404; a batch file
without one valid line is a 400 naming it; a file over batch.max_file_bytes is a 413; no key is a 401."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from genai.accesskeys import create_key
from genai.batch.filestore import LocalFileStore, local_folder
from tests.batch.api_gateway import BatchGateway, batch_line, batch_settings, serve_batch_gateway
from tests.fixtures.gateway import EchoUpstream
from tests.fixtures.services import backend_url

MAX_FILE_BYTES = 4096
GOOD = ("\n".join(batch_line(f"req-{n}", f"question {n}") for n in range(3)) + "\n").encode()


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", marks=pytest.mark.postgres, id="postgres"),
    ],
)
def files_gateway(
    request: pytest.FixtureRequest,
    echo_upstream_server: EchoUpstream,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BatchGateway]:
    home = tmp_path_factory.mktemp(f"files-{request.param}")
    url = backend_url(request, home)
    # Prefect is never asked by these endpoints: a closed port stands for it.
    settings = batch_settings(
        home, echo_upstream_server.url, url, "http://127.0.0.1:9/api", max_file_bytes=MAX_FILE_BYTES
    )
    with serve_batch_gateway(settings) as gateway:
        yield gateway


def test_upload_list_retrieve_content_delete(files_gateway: BatchGateway) -> None:
    client = files_gateway.client("acme")
    uploaded = client.files.create(file=("requests.jsonl", GOOD), purpose="batch")
    assert uploaded.id.startswith("file-") and uploaded.object == "file"
    assert (uploaded.filename, uploaded.bytes, uploaded.purpose, uploaded.status) == (
        "requests.jsonl",
        len(GOOD),
        "batch",
        "processed",
    )
    store = LocalFileStore(local_folder(files_gateway.settings))
    assert store.get(uploaded.id) == GOOD  # the bytes are in the file store under the id

    assert client.files.retrieve(uploaded.id) == uploaded
    assert client.files.content(uploaded.id).read() == GOOD
    assert uploaded.id in [f.id for f in client.files.list().data]
    assert client.files.list(purpose="batch").data[0].id == uploaded.id  # newest first
    notes = client.files.create(file=("notes.txt", b"not JSON at all"), purpose="user_data")  # not checked
    assert notes.id in [f.id for f in client.files.list(purpose="user_data").data]

    deleted = client.files.delete(uploaded.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (uploaded.id, True, "file")
    assert not store.exists(uploaded.id)
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(uploaded.id)
    with pytest.raises(openai.NotFoundError):
        client.files.delete(uploaded.id)


def test_listing_pages_with_after(files_gateway: BatchGateway) -> None:
    client = files_gateway.client("pager")
    ids = [client.files.create(file=(f"{n}.jsonl", GOOD), purpose="batch").id for n in range(3)]
    first = client.files.list(limit=2)
    assert [f.id for f in first.data] == ids[::-1][:2] and first.has_more
    rest = client.files.list(limit=2, after=first.data[-1].id)
    assert [f.id for f in rest.data] == [ids[0]] and not rest.has_more
    assert [f.id for f in client.files.list(limit=2)] == ids[
        ::-1
    ]  # the client's auto-paging follows has_more
    stale = client.files.list(after="file-nothere")
    assert stale.data == [] and not stale.has_more


def test_another_tenants_file_is_not_found(files_gateway: BatchGateway) -> None:
    owner, stranger = files_gateway.client("owner"), files_gateway.client("stranger")
    uploaded = owner.files.create(file=("mine.jsonl", GOOD), purpose="batch")
    with pytest.raises(openai.NotFoundError) as error:
        stranger.files.retrieve(uploaded.id)
    assert error.value.body["code"] == "not_found"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        stranger.files.content(uploaded.id)
    with pytest.raises(openai.NotFoundError):
        stranger.files.delete(uploaded.id)
    assert uploaded.id not in [f.id for f in stranger.files.list().data]
    assert owner.files.retrieve(uploaded.id).id == uploaded.id  # still there


def test_batch_file_without_a_valid_line_is_refused_naming_it(files_gateway: BatchGateway) -> None:
    client = files_gateway.client("acme")
    bad = b'\n{"custom_id": "a", "url": "/v1/chat/completions"}\nnot json\n'
    with pytest.raises(openai.BadRequestError) as error:
        client.files.create(file=("bad.jsonl", bad), purpose="batch")
    message = error.value.body["message"]  # type: ignore[index]
    assert "line 2" in message and "body" in message, message  # line 1 is blank; line 2 lacks its body
    with pytest.raises(openai.BadRequestError, match="no request lines"):
        client.files.create(file=("empty.jsonl", b"\n\n"), purpose="batch")
    # One good line among bad ones is accepted: the flow reports the bad ones with their numbers.
    mixed = client.files.create(file=("mixed.jsonl", bad + batch_line("ok").encode()), purpose="batch")
    assert mixed.bytes == len(bad) + len(batch_line("ok"))
    with pytest.raises(openai.BadRequestError, match="purpose"):
        client.files.create(file=("x.jsonl", GOOD), purpose="batch_output")  # type: ignore[arg-type]


def test_file_over_the_limit_is_413(files_gateway: BatchGateway) -> None:
    client = files_gateway.client("acme")
    line = batch_line("x", "y" * 200).encode() + b"\n"
    too_big = line * (MAX_FILE_BYTES // len(line) + 1)
    with pytest.raises(openai.APIStatusError) as error:
        client.files.create(file=("big.jsonl", too_big), purpose="batch")
    assert error.value.status_code == 413 and str(MAX_FILE_BYTES) in error.value.message
    exactly = (line * (MAX_FILE_BYTES // len(line) + 1))[:MAX_FILE_BYTES]
    assert client.files.create(file=("edge.bin", exactly), purpose="user_data").bytes == MAX_FILE_BYTES
    # A body far over even the gateway's own limit is refused by the middleware, before it is read.
    huge = b"x" * (files_gateway.settings.gateway.max_body_bytes + 200_000)
    with pytest.raises(openai.APIStatusError) as error:
        client.files.create(file=("huge.bin", huge), purpose="user_data")
    assert error.value.status_code == 413


def test_no_key_is_401(files_gateway: BatchGateway) -> None:
    for method, path in [("GET", "/v1/files"), ("POST", "/v1/files"), ("GET", "/v1/files/file-1/content")]:
        response = httpx.request(method, files_gateway.url + path, timeout=30)
        assert response.status_code == 401, (method, path)
        assert response.json()["error"]["code"] == "missing_api_key"


def test_wrong_method_names_every_allowed_one(files_gateway: BatchGateway) -> None:
    key = create_key(files_gateway.settings, "acme").key
    response = httpx.put(
        files_gateway.url + "/v1/files", headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"
    assert response.headers["allow"] == "GET, POST"  # both routes of the path, not only the first one's
