"""``Link``: one upstream of a model's fallback chain (its pool of workers, its protocol and the model name
that upstream knows). Routes written in the settings and routes of registered versions are both chains of
links."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.routing.pool import Pool
from gateway.upstreams.provider import Provider


@dataclass(frozen=True, slots=True)
class Link:
    """One upstream of a model's fallback chain, with the model name that upstream knows."""

    name: str
    pool: Pool
    provider: Provider
    model: str
