"""Structured logs: every gateway log record is one JSON object on one line.

Each request gets one ``gateway.access`` line (request id, model, endpoint, status, latency, upstream,
worker, attempts, tokens) so a log pipeline can index, join and aggregate requests without parsing prose.
That name is stable, whatever module writes the line. Every other gateway logger is named by its module
(``gateway.routing.router``, ``gateway.api.middleware``, ...): all are children of ``gateway`` and share
the formatter.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson

ACCESS_LOGGER = "gateway.access"
_access = logging.getLogger(ACCESS_LOGGER)
_FIELDS_ATTR = "gateway_fields"


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line: time, level, logger, message, structured fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _iso_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, _FIELDS_ATTR, None)
        if fields:
            line.update(fields)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


_second: tuple[int, str] = (-1, "")


def _iso_time(created: float) -> str:
    global _second
    whole = int(created)
    if _second[0] != whole:  # strftime once per second, not once per line
        _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{_second[1]}.{int(created % 1 * 1000):03d}Z"


def configure_logging(level: str = "INFO", stream: Any = None, logger: str = "gateway") -> None:
    """Send ``logger`` and its children to ``stream`` (stderr by default) as JSON lines; once per logger."""
    target = logging.getLogger(logger)
    target.setLevel(level.upper())
    if any(getattr(handler, "_genai_json", False) for handler in target.handlers):
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._genai_json = True  # type: ignore[attr-defined]
    target.addHandler(handler)
    # Records stop here: a root handler configured by the host process would print each line twice.
    target.propagate = False


def log_exchange(**fields: Any) -> None:
    """Write the access line of one finished request; fields that are None are left out."""
    kept = {key: value for key, value in fields.items() if value is not None}
    level = logging.ERROR if kept.get("status", 0) >= 500 else logging.INFO
    if not _access.isEnabledFor(level):
        return
    # Built by hand: Logger.log would walk the stack to find the caller's file and line, which an access
    # line never shows and which costs more than the rest of the line.
    record = _access.makeRecord(ACCESS_LOGGER, level, "", 0, "request", (), None)
    setattr(record, _FIELDS_ATTR, kept)
    _access.handle(record)
