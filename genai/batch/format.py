"""The OpenAI batch file formats: one request per input line, one result (or error) per output line.

Input line: ``{"custom_id": "...", "method": "POST", "url": "/v1/chat/completions", "body": {...}}``.
Output line: ``{"id": "batch_req_<hex>", "custom_id": "...", "response": {"status_code", "request_id",
"body"} | null, "error": {"code", "message"} | null}``. ``parse_lines`` keeps the 1-based line number of
every line, so a bad line is reported where the user can find it, and never stops the good ones.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

BatchUrl = Literal["/v1/chat/completions", "/v1/completions", "/v1/embeddings"]
BATCH_URLS: tuple[str, ...] = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")


class BatchRequestLine(BaseModel):
    """One request of a batch input file."""

    model_config = ConfigDict(extra="forbid")

    custom_id: str = Field(min_length=1, max_length=512)
    method: Literal["POST"] = "POST"
    url: BatchUrl
    body: dict[str, Any]


class BatchResponse(BaseModel):
    status_code: int
    request_id: str
    body: Any


class BatchError(BaseModel):
    code: str
    message: str


class BatchOutputLine(BaseModel):
    """One line of a batch's output file (answered) or error file (refused, failed or not sent)."""

    id: str = Field(default_factory=lambda: f"batch_req_{secrets.token_hex(12)}")
    custom_id: str
    response: BatchResponse | None = None
    error: BatchError | None = None

    @property
    def succeeded(self) -> bool:
        """An answer with a 2xx status; anything else goes to the error file."""
        return self.response is not None and 200 <= self.response.status_code < 300

    def to_json(self) -> str:
        return self.model_dump_json()


@dataclass(frozen=True)
class ParsedLine:
    """A line as read: its number, the raw fields (for the quality suite) and the request if it parsed."""

    number: int
    raw: dict[str, Any] | None
    request: BatchRequestLine | None
    problem: str | None


def parse_lines(lines: Iterable[str | bytes]) -> list[ParsedLine]:
    """Every non-blank line of an input file, parsed; a line that is not JSON or not a request keeps its
    number and says why."""
    parsed: list[ParsedLine] = []
    for number, line in enumerate(lines, start=1):
        text = line.decode("utf-8", errors="replace") if isinstance(line, bytes) else line
        if not text.strip():
            continue
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as error:
            parsed.append(ParsedLine(number, None, None, f"not JSON: {error.msg} at column {error.colno}"))
            continue
        if not isinstance(raw, dict):
            parsed.append(ParsedLine(number, None, None, "not a JSON object"))
            continue
        try:
            parsed.append(ParsedLine(number, raw, BatchRequestLine.model_validate(raw), None))
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "line"
            parsed.append(ParsedLine(number, raw, None, f"{where}: {first['msg']}"))
    return parsed


def error_line(custom_id: str, code: str, message: str) -> BatchOutputLine:
    """An error-file line for a request that was refused or never answered."""
    return BatchOutputLine(custom_id=custom_id, error=BatchError(code=code, message=message))
