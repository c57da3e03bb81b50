"""/v1/files: upload (multipart ``file`` and ``purpose``), list, retrieve, content, delete; OpenAI's shapes.

A tenant sees only its own files: another tenant's id is a 404, the same as an id that never existed. A
``batch`` file is checked as it arrives: JSONL of OpenAI batch request lines, at most
``batch.max_requests_per_batch`` of them, and refused (400, naming the first bad line) when not one line
is a valid request; lines that are bad beside good ones are the flow's to report, with their numbers, in
the batch's error file. A file over ``batch.max_file_bytes`` is a 413 (the middleware refuses a body far
over it before reading it).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile
from starlette.requests import Request
from starlette.responses import Response

from gateway.api.batch_state import (
    batch_context,
    documented_errors,
    not_found,
    off_loop,
    single_query_values,
    tenant_of,
)
from gateway.api.batch_views import file_object, page_object
from gateway.api.responses import json_response
from gateway.echo import clip
from gateway.errors import BodyTooLarge, InvalidRequest
from gateway.protocol.files import FileDeleted, FileList, FileObject, UploadPurpose
from genai.batch import catalog
from genai.batch.filestore import FileNotStored
from genai.batch.format import parse_lines

router = APIRouter(tags=["files"])

_MAX_FILENAME = 512


def check_batch_input(data: bytes, max_requests: int) -> None:
    """Refuse a ``batch`` file with no valid request line, or with more lines than a batch may hold."""
    lines = parse_lines(data.splitlines())
    if not lines:
        raise InvalidRequest("The file holds no request lines (JSONL, one request per line).", param="file")
    if len(lines) > max_requests:
        raise InvalidRequest(
            f"The file holds {len(lines)} request lines; a batch holds at most {max_requests} "
            "(batch.max_requests_per_batch).",
            param="file",
        )
    if any(line.request is not None for line in lines):
        return
    first = lines[0]
    raise InvalidRequest(
        f"The file holds no valid batch request line; line {first.number}: {clip(first.problem)}.",
        param="file",
    )


@router.post(
    "/v1/files",
    summary="Upload a file",
    response_model=None,
    responses={
        200: {"model": FileObject, "description": "The stored file."},
        **documented_errors(
            {
                400: "Not a form with `file` and `purpose`, an unknown purpose, or a `batch` file with no "
                "valid line.",
                413: "The file is larger than `batch.max_file_bytes`.",
            }
        ),
    },
)
async def upload_file(
    request: Request, file: Annotated[UploadFile, File()], purpose: Annotated[UploadPurpose, Form()]
) -> Response:
    """Store a file for the caller's tenant; a `batch` file is checked as JSONL of batch request lines."""
    tenant = tenant_of(request, "files")
    context = batch_context(request)
    limit = context.settings.batch.max_file_bytes
    if file.size is not None and file.size > limit:
        raise BodyTooLarge(f"The file is {file.size} bytes; this gateway accepts files up to {limit} bytes.")
    data = await file.read()
    if len(data) > limit:
        raise BodyTooLarge(f"The file is {len(data)} bytes; this gateway accepts files up to {limit} bytes.")
    if purpose == "batch":
        await off_loop(check_batch_input, data, context.settings.batch.max_requests_per_batch)
    record = await off_loop(
        catalog.create_file,
        context.settings,
        data=data,
        filename=(file.filename or "upload")[:_MAX_FILENAME],
        purpose=purpose,
        tenant=tenant,
    )
    return json_response(file_object(record))


@router.get(
    "/v1/files",
    summary="List files",
    response_model=None,
    responses={
        200: {"model": FileList, "description": "The caller's files, newest first."},
        **documented_errors({400: "An invalid `limit`."}),
    },
)
async def list_files(
    request: Request,
    purpose: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    after: Annotated[str | None, Query(max_length=128)] = None,
) -> Response:
    """The caller's files, newest first (at most 100 a page; `after` is the last id of the page before)."""
    single_query_values(request)
    tenant = tenant_of(request, "files")
    settings = batch_context(request).settings
    page = await off_loop(catalog.list_files, settings, tenant, purpose=purpose, limit=limit, after=after)
    return json_response(page_object(page, [file_object(record) for record in page.data]))


@router.get(
    "/v1/files/{file_id}",
    summary="Retrieve a file",
    response_model=None,
    responses={
        200: {"model": FileObject, "description": "The file."},
        **documented_errors({404: "No such file."}),
    },
)
async def retrieve_file(request: Request, file_id: str) -> Response:
    tenant = tenant_of(request, "files")
    record = await off_loop(catalog.get_file, batch_context(request).settings, file_id, tenant)
    if record is None:
        raise not_found("file", file_id, "file_id")
    return json_response(file_object(record))


@router.get(
    "/v1/files/{file_id}/content",
    summary="Retrieve a file's content",
    response_model=None,
    responses={
        200: {"description": "The file's bytes.", "content": {"application/octet-stream": {}}},
        **documented_errors({404: "No such file."}),
    },
)
async def file_content(request: Request, file_id: str) -> Response:
    tenant = tenant_of(request, "files")
    settings = batch_context(request).settings
    record = await off_loop(catalog.get_file, settings, file_id, tenant)
    if record is None:
        raise not_found("file", file_id, "file_id")
    try:
        data = await off_loop(catalog.file_content, settings, file_id)
    except FileNotStored:
        raise not_found("file content (the file store lost it)", file_id, "file_id") from None
    return Response(data, media_type="application/octet-stream")


@router.delete(
    "/v1/files/{file_id}",
    summary="Delete a file",
    response_model=None,
    responses={
        200: {"model": FileDeleted, "description": "The file is gone."},
        **documented_errors({404: "No such file."}),
    },
)
async def delete_file(request: Request, file_id: str) -> Response:
    tenant = tenant_of(request, "files")
    if not await off_loop(catalog.delete_file, batch_context(request).settings, file_id, tenant):
        raise not_found("file", file_id, "file_id")
    return json_response(FileDeleted(id=file_id, deleted=True).model_dump())
