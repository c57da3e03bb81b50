"""/v1/batches through a real gateway with API keys and the official openai client, against the session's
real Prefect test server: create starts a run of the deployment (found by name) with the batch's
parameters; retrieve, list (paged); cancel of a run no worker took cancels it in Prefect and the batch,
of a running one leaves the batch cancelling for the flow. Prefect unreachable, or the deployment missing:
a 503 and the batch failed with the reason, never a 500."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from genai.accesskeys import display_prefix
from genai.batch import catalog
from genai.batch.records import BatchOwner
from tests.batch.api_gateway import BatchGateway, batch_line, batch_settings, serve_batch_gateway
from tests.fixtures.gateway import EchoUpstream, free_port

DEPLOYMENT = "api-test"  # a deployment of the flow serve_batch of these tests' own (no worker serves it)
INPUT = ("\n".join(batch_line(f"req-{n}") for n in range(2)) + "\n").encode()


def _deploy(prefect_api_url: str) -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name("serve_batch")
        return str(
            client.create_deployment(
                flow_id=flow_id, name=DEPLOYMENT, entrypoint="flows/serve_batch.py:serve_batch"
            )
        )


@pytest.fixture(scope="module")
def prefect_gateway(
    prefect_api_url: str, echo_upstream_server: EchoUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[BatchGateway, str]]:
    deployment_id = _deploy(prefect_api_url)
    home = tmp_path_factory.mktemp("batches")
    settings = batch_settings(
        home,
        echo_upstream_server.url,
        f"sqlite:///{home / 'genai.db'}",
        prefect_api_url,
        deployment=f"serve_batch/{DEPLOYMENT}",
    )
    with serve_batch_gateway(settings) as gateway:
        yield gateway, deployment_id


def _prefect(prefect_api_url: str, method: str, path: str, **options: Any) -> Any:
    response = httpx.request(method, prefect_api_url.rstrip("/") + path, timeout=30, **options)
    response.raise_for_status()
    return response.json()


def _upload(client: openai.OpenAI) -> str:
    return client.files.create(file=("input.jsonl", INPUT), purpose="batch").id


def test_create_starts_a_flow_run_and_cancel_cancels_it(
    prefect_gateway: tuple[BatchGateway, str], prefect_api_url: str
) -> None:
    gateway, deployment_id = prefect_gateway
    client = gateway.client("acme")
    file_id = _upload(client)
    batch = client.batches.create(
        input_file_id=file_id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"job": "nightly"},
    )
    assert batch.id.startswith("batch_") and batch.object == "batch" and batch.status == "validating"
    assert (batch.input_file_id, batch.endpoint, batch.metadata) == (
        file_id,
        "/v1/chat/completions",
        {"job": "nightly"},
    )
    assert batch.expires_at == batch.created_at + 86_400
    assert batch.request_counts is not None and batch.request_counts.total == 0

    record = catalog.get_batch(gateway.settings, batch.id)
    assert record is not None and record.flow_run_id is not None
    # The owner, as the flow will serve the batch: the caller's tier and models, named by its key's prefix.
    assert record.owner == BatchOwner(tier="default", actor=display_prefix(client.api_key), models=None)
    run = _prefect(prefect_api_url, "GET", f"/flow_runs/{record.flow_run_id}")
    assert run["deployment_id"] == deployment_id and run["state_type"] == "SCHEDULED"
    assert run["parameters"] == {
        "batch_id": batch.id,
        "input_file_id": file_id,
        "endpoint": "/v1/chat/completions",
    }

    assert client.batches.retrieve(batch.id) == batch
    assert batch.id in [b.id for b in client.batches.list().data]

    cancelled = client.batches.cancel(batch.id)  # no worker took the run: it is cancelled in Prefect too
    assert cancelled.status == "cancelled" and cancelled.cancelling_at and cancelled.cancelled_at
    assert _prefect(prefect_api_url, "GET", f"/flow_runs/{record.flow_run_id}")["state_type"] == "CANCELLED"
    assert client.batches.cancel(batch.id).status == "cancelled"  # again: the same answer


def test_cancel_of_a_running_batch_leaves_it_to_the_flow(
    prefect_gateway: tuple[BatchGateway, str], prefect_api_url: str
) -> None:
    gateway, _ = prefect_gateway
    client = gateway.client("acme")
    batch = client.batches.create(
        input_file_id=_upload(client), endpoint="/v1/completions", completion_window="24h"
    )
    run_id = catalog.get_batch(gateway.settings, batch.id).flow_run_id  # type: ignore[union-attr]
    for state in ("PENDING", "RUNNING"):  # as a worker would move it
        _prefect(
            prefect_api_url,
            "POST",
            f"/flow_runs/{run_id}/set_state",
            json={"state": {"type": state}, "force": True},
        )
    catalog.update_batch(gateway.settings, batch.id, status="in_progress")  # as the flow would

    cancelling = client.batches.cancel(batch.id)
    assert cancelling.status == "cancelling" and cancelling.cancelled_at is None
    assert catalog.cancel_requested(gateway.settings, batch.id)  # what the flow asks between slices
    assert _prefect(prefect_api_url, "GET", f"/flow_runs/{run_id}")["state_type"] == "RUNNING"
    catalog.update_batch(gateway.settings, batch.id, status="completed")
    with pytest.raises(openai.BadRequestError, match="completed"):
        client.batches.cancel(batch.id)


def test_batches_list_pages_and_tenants_are_apart(prefect_gateway: tuple[BatchGateway, str]) -> None:
    gateway, _ = prefect_gateway
    client, stranger = gateway.client("lister"), gateway.client("stranger")
    file_id = _upload(client)
    ids = [
        client.batches.create(
            input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h"
        ).id
        for _ in range(3)
    ]
    first = client.batches.list(limit=2)
    assert [b.id for b in first.data] == ids[::-1][:2] and first.has_more
    rest = client.batches.list(limit=2, after=first.data[-1].id)
    assert [b.id for b in rest.data] == [ids[0]] and not rest.has_more
    assert stranger.batches.list().data == []
    with pytest.raises(openai.NotFoundError):
        stranger.batches.retrieve(ids[0])
    with pytest.raises(openai.NotFoundError):
        stranger.batches.cancel(ids[0])
    with pytest.raises(openai.NotFoundError):  # another tenant's file is no input
        stranger.batches.create(
            input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h"
        )


def test_create_refuses_bad_requests(prefect_gateway: tuple[BatchGateway, str]) -> None:
    gateway, _ = prefect_gateway
    client = gateway.client("refused")
    file_id = _upload(client)
    notes = client.files.create(file=("notes.txt", b"text"), purpose="user_data").id
    with pytest.raises(openai.BadRequestError, match="purpose"):
        client.batches.create(input_file_id=notes, endpoint="/v1/chat/completions", completion_window="24h")
    with pytest.raises(openai.BadRequestError) as error:
        client.batches.create(input_file_id=file_id, endpoint="/v1/moderations", completion_window="24h")
    assert error.value.param == "endpoint"
    with pytest.raises(openai.BadRequestError) as error:
        client.batches.create(input_file_id=file_id, endpoint="/v1/completions", completion_window="1h")  # type: ignore[arg-type]
    assert error.value.param == "completion_window"
    with pytest.raises(openai.NotFoundError):
        client.batches.create(
            input_file_id="file-missing", endpoint="/v1/completions", completion_window="24h"
        )
    assert client.batches.list().data == []  # nothing refused was recorded


def _unstartable(tmp_path: Path, upstream: str, prefect_url: str, deployment: str) -> Any:
    settings = batch_settings(
        tmp_path, upstream, f"sqlite:///{tmp_path / 'genai.db'}", prefect_url, deployment=deployment
    )
    return serve_batch_gateway(settings)


def _assert_failed_with_503(gateway: BatchGateway, says: str) -> None:
    client = gateway.client("acme")
    file_id = _upload(client)
    with pytest.raises(openai.InternalServerError) as error:
        client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h")
    assert error.value.status_code == 503 and error.value.code == "orchestrator_unavailable"
    assert says in error.value.message
    [failed] = client.batches.list().data
    assert failed.status == "failed" and failed.failed_at is not None
    assert failed.errors is not None and failed.errors.data is not None
    assert failed.errors.data[0].code == "orchestrator_unavailable" and says in (
        failed.errors.data[0].message or ""
    )


def test_prefect_unreachable_is_503_and_the_batch_failed(
    tmp_path: Path, echo_upstream_server: EchoUpstream
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/api"  # nothing listens there
    with _unstartable(tmp_path, echo_upstream_server.url, closed, "serve_batch/serve-batch") as gateway:
        _assert_failed_with_503(gateway, "did not answer")


def test_missing_deployment_is_503_and_the_batch_failed(
    tmp_path: Path, echo_upstream_server: EchoUpstream, prefect_api_url: str
) -> None:
    missing = f"serve_batch/missing-{uuid.uuid4().hex[:6]}"
    with _unstartable(tmp_path, echo_upstream_server.url, prefect_api_url, missing) as gateway:
        _assert_failed_with_503(gateway, f"no deployment '{missing}'")
