"""OpenAI's file objects (/v1/files): a file, a page of files, a deleted file.

The upload itself is a multipart form (``file`` and ``purpose``), documented by the endpoint's form
parameters; these are the answers.
"""

from __future__ import annotations

from typing import Literal, get_args

from gateway.protocol.common import OpenAIResponse

# What a client may upload; the ``*_output`` and ``*-results`` purposes are the platform's own files.
UploadPurpose = Literal["batch", "fine-tune", "assistants", "vision", "user_data", "evals"]
UPLOAD_PURPOSES: tuple[str, ...] = get_args(UploadPurpose)


class FileObject(OpenAIResponse):
    id: str
    object: Literal["file"] = "file"
    bytes: int
    created_at: int
    filename: str
    purpose: str
    status: Literal["uploaded", "processed", "error"] = "processed"
    status_details: str | None = None
    expires_at: int | None = None


class FileList(OpenAIResponse):
    object: Literal["list"] = "list"
    data: list[FileObject]
    has_more: bool
    first_id: str | None = None
    last_id: str | None = None


class FileDeleted(OpenAIResponse):
    id: str
    object: Literal["file"] = "file"
    deleted: bool
