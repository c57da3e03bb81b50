"""The ``response_format`` policy: being built (issue 9): passes requests through until then."""

from __future__ import annotations

from typing import ClassVar

from gateway.policies.base import Policy


class ResponseFormatPolicy(Policy):
    name: ClassVar[str] = "response_format"
