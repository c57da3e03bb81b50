"""The ``cache`` policy: being built (issue 9): passes requests through until then."""

from __future__ import annotations

from typing import ClassVar

from gateway.policies.base import Policy


class CachePolicy(Policy):
    name: ClassVar[str] = "cache"
