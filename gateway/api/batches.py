"""/v1/batches: create, retrieve, list, cancel; OpenAI's shapes, served by the ``serve-batch`` flow.

Create records the batch (``validating``) and starts a run of the deployment ``batch.deployment`` through
Prefect's REST API (``gateway.flow_runs``) with the parameters ``batch_id``, ``input_file_id`` and
``endpoint``; the flow moves the batch on from there. When Prefect does not answer or lacks the deployment,
the batch becomes ``failed`` with an error that says so, and the client gets a 503.

Cancel sets ``cancelling``: a running flow stops between slices and sets ``cancelled``; a run no worker
took yet is cancelled in Prefect, and the batch with it. A tenant sees only its own batches (404).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from gateway.api.batch_state import (
    BatchContext,
    batch_context,
    documented_errors,
    not_found,
    off_loop,
    owner_of,
    single_query_values,
    tenant_of,
)
from gateway.api.batch_views import batch_object, page_object
from gateway.api.body import read_body
from gateway.api.openapi import body_schema
from gateway.api.responses import json_response
from gateway.errors import InvalidRequest
from gateway.flow_runs import OrchestratorUnavailable
from gateway.protocol.batches import BatchCreateRequest, BatchList, BatchObject
from genai.batch import catalog
from genai.batch.catalog import BatchStatusError
from genai.batch.records import BatchErrorEntry, BatchRecord

logger = logging.getLogger(__name__)
router = APIRouter(tags=["batches"])


class BatchNotCancellable(InvalidRequest):
    """400: the batch is done already (completed, failed, expired)."""

    code = "batch_not_cancellable"


@router.post(
    "/v1/batches",
    summary="Create a batch",
    response_model=None,
    openapi_extra=body_schema(BatchCreateRequest),
    responses={
        200: {"model": BatchObject, "description": "The new batch, validating."},
        **documented_errors(
            {
                400: "The body does not follow the schema, or the input file is not a `batch` file.",
                404: "No such input file.",
                415: "The body is not declared `Content-Type: application/json`.",
                503: "The orchestrator (Prefect) did not start the batch; the batch is failed.",
            }
        ),
    },
)
async def create_batch(request: Request) -> Response:
    """Record the batch and start the flow run that serves it."""
    tenant = tenant_of(request, "batches")
    body, _ = await read_body(request, BatchCreateRequest)
    context = batch_context(request)
    settings = context.settings
    source = await off_loop(catalog.get_file, settings, body.input_file_id, tenant)
    if source is None:
        raise not_found("file", body.input_file_id, "input_file_id")
    if source.purpose != "batch":
        raise InvalidRequest(
            f"The input file's purpose is '{source.purpose}'; a batch reads a file uploaded with "
            "purpose 'batch'.",
            param="input_file_id",
        )
    batch = await off_loop(
        catalog.create_batch,
        settings,
        tenant=tenant,
        input_file_id=body.input_file_id,
        endpoint=body.endpoint,
        completion_window=body.completion_window,
        metadata=body.metadata,
        owner=owner_of(request),
    )
    return json_response(batch_object(await _start(context, batch)))


async def _start(context: BatchContext, batch: BatchRecord) -> BatchRecord:
    """Start the batch's flow run; a Prefect that does not start it fails the batch (then a 503)."""
    parameters = {"batch_id": batch.id, "input_file_id": batch.input_file_id, "endpoint": batch.endpoint}
    try:
        run_id = await context.runs.start(context.settings.batch.deployment, parameters, ["batch", batch.id])
    except OrchestratorUnavailable as error:
        logger.warning("batch %s not started: %s", batch.id, error.message)
        failure = BatchErrorEntry(code=error.code or "orchestrator_unavailable", message=error.message)
        await off_loop(catalog.update_batch, context.settings, batch.id, status="failed", errors=[failure])
        raise
    # The flow may have moved the batch on already: only the run id is written here.
    return await off_loop(catalog.update_batch, context.settings, batch.id, flow_run_id=run_id)


@router.get(
    "/v1/batches/{batch_id}",
    summary="Retrieve a batch",
    response_model=None,
    responses={
        200: {"model": BatchObject, "description": "The batch."},
        **documented_errors({404: "No such batch."}),
    },
)
async def retrieve_batch(request: Request, batch_id: str) -> Response:
    tenant = tenant_of(request, "batches")
    batch = await off_loop(catalog.get_batch, batch_context(request).settings, batch_id, tenant)
    if batch is None:
        raise not_found("batch", batch_id, "batch_id")
    return json_response(batch_object(batch))


@router.get(
    "/v1/batches",
    summary="List batches",
    response_model=None,
    responses={
        200: {"model": BatchList, "description": "The caller's batches, newest first."},
        **documented_errors({400: "An invalid `limit`."}),
    },
)
async def list_batches(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    after: Annotated[str | None, Query(max_length=128)] = None,
) -> Response:
    """The caller's batches, newest first (`after` is the last id of the page before)."""
    single_query_values(request)
    tenant = tenant_of(request, "batches")
    settings = batch_context(request).settings
    page = await off_loop(catalog.list_batches, settings, tenant, limit=limit, after=after)
    return json_response(page_object(page, [batch_object(batch) for batch in page.data]))


@router.post(
    "/v1/batches/{batch_id}/cancel",
    summary="Cancel a batch",
    response_model=None,
    responses={
        200: {"model": BatchObject, "description": "The batch, cancelling (or cancelled)."},
        **documented_errors({400: "The batch is done already.", 404: "No such batch."}),
    },
)
async def cancel_batch(request: Request, batch_id: str) -> Response:
    """Ask the batch to stop: the flow stops between slices; a run not started yet never starts."""
    tenant = tenant_of(request, "batches")
    context = batch_context(request)
    batch = await off_loop(catalog.get_batch, context.settings, batch_id, tenant)
    if batch is None:
        raise not_found("batch", batch_id, "batch_id")
    if batch.status in ("cancelling", "cancelled"):
        return json_response(batch_object(batch))
    try:
        batch = await off_loop(catalog.update_batch, context.settings, batch_id, status="cancelling")
    except BatchStatusError:
        raise BatchNotCancellable(
            f"The batch is {batch.status}; only a batch still being served can be cancelled.",
            param="batch_id",
        ) from None
    if batch.flow_run_id is not None:
        batch = await _cancel_run(context, batch)
    return json_response(batch_object(batch))


async def _cancel_run(context: BatchContext, batch: BatchRecord) -> BatchRecord:
    """Cancel the flow run in Prefect if no worker took it; then the batch is cancelled here and now."""
    assert batch.flow_run_id is not None
    try:
        cancelled = await context.runs.cancel_if_not_started(batch.flow_run_id)
    except OrchestratorUnavailable as error:
        # The batch stays cancelling: the flow sees that when (if ever) it starts.
        logger.warning("batch %s: the flow run was not cancelled in Prefect: %s", batch.id, error.message)
        return batch
    if not cancelled:
        return batch
    try:
        return await off_loop(catalog.update_batch, context.settings, batch.id, status="cancelled")
    except BatchStatusError:  # the flow finished it meanwhile
        found = await off_loop(catalog.get_batch, context.settings, batch.id)
        return found or batch
