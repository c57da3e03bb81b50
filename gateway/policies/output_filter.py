"""The ``output_filter`` policy: being built (issue 9): passes requests through until then."""

from __future__ import annotations

from typing import ClassVar

from gateway.policies.base import Policy


class OutputFilterPolicy(Policy):
    name: ClassVar[str] = "output_filter"
