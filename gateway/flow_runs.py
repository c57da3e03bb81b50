"""Starting and cancelling runs of a Prefect deployment over Prefect's REST API, with plain httpx.

The gateway never imports Prefect (the layers forbid it: Prefect's import costs a second and pulls its
whole server in). /v1/batches needs three calls of its API: find a deployment by ``flow/name``, create a
flow run of it, and cancel a run that has not started yet. A server that does not answer, answers an
error, or lacks the deployment is ``OrchestratorUnavailable``: the caller fails the batch with the
message, and the client gets a 503, never a 500.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from gateway.errors import GatewayError

_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
# A run in one of these has not started on a worker: cancelling it means it never will.
NOT_STARTED = frozenset({"SCHEDULED", "PENDING", "PAUSED"})


class OrchestratorUnavailable(GatewayError):
    """503: the Prefect server did not answer, answered an error, or has no such deployment."""

    status = 503
    type = "server_error"
    code = "orchestrator_unavailable"


def prefect_api_url(configured: str | None, host: str, port: int) -> str:
    """The Prefect API the gateway talks to: ``prefect.api_url``, else ``PREFECT_API_URL``, else the
    local server `genai up` runs."""
    return (configured or os.environ.get("PREFECT_API_URL") or f"http://{host}:{port}/api").rstrip("/")


class FlowRunClient:
    """Prefect's REST API at ``api_url`` (``http://host:port/api``), for deployments' runs."""

    def __init__(self, api_url: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self._transport = transport

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.api_url, timeout=_TIMEOUT, transport=self._transport)

    async def start(self, deployment: str, parameters: dict[str, Any], tags: list[str]) -> str:
        """Create a run of ``deployment`` (``flow/name``) with ``parameters``; returns the run's id."""
        flow_name, _, name = deployment.partition("/")
        async with self._client() as client:
            found = await self._call(client, "GET", f"/deployments/name/{flow_name}/{name}")
            if found.status_code == 404:
                raise OrchestratorUnavailable(
                    f"The Prefect server at {self.api_url} has no deployment '{deployment}' "
                    "(batch.deployment names it; deploy it with `prefect deploy` or `genai up`)."
                )
            _raise_for_status(found, self.api_url)
            created = await self._call(
                client,
                "POST",
                f"/deployments/{found.json()['id']}/create_flow_run",
                json={"parameters": parameters, "tags": tags},
            )
            _raise_for_status(created, self.api_url)
            run_id: str = created.json()["id"]
            return run_id

    async def cancel_if_not_started(self, flow_run_id: str) -> bool:
        """Cancel the run if no worker took it yet; True if it is cancelled now (it will never run)."""
        async with self._client() as client:
            run = await self._call(client, "GET", f"/flow_runs/{flow_run_id}")
            _raise_for_status(run, self.api_url)
            if run.json().get("state_type") not in NOT_STARTED:
                return False
            answer = await self._call(
                client,
                "POST",
                f"/flow_runs/{flow_run_id}/set_state",
                json={"state": {"type": "CANCELLED", "message": "Cancelled through /v1/batches"}},
            )
            _raise_for_status(answer, self.api_url)
            # Prefect's orchestration rules may refuse (a worker took the run meanwhile): then the flow
            # itself sees the cancel between slices.
            return bool(answer.json().get("status") == "ACCEPT")

    async def _call(
        self, client: httpx.AsyncClient, method: str, path: str, **options: Any
    ) -> httpx.Response:
        try:
            return await client.request(method, path, **options)
        except httpx.HTTPError as error:
            raise OrchestratorUnavailable(
                f"The Prefect server at {self.api_url} did not answer ({type(error).__name__}: {error})."
            ) from None


def _raise_for_status(response: httpx.Response, api_url: str) -> None:
    if response.is_success:
        return
    raise OrchestratorUnavailable(
        f"The Prefect server at {api_url} answered {response.status_code} to {response.request.method} "
        f"{response.request.url.path}: {response.text[:300]}"
    )
