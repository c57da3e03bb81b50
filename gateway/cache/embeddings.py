"""Embeddings cached per input: which inputs of a request are stored, the answer built from stored
vectors, and the whole answer put together once the upstream embedded the rest.

A request whose inputs are all stored is answered here; one with some stored asks the upstream for the
others only (its ``input`` narrowed to them), and the answer puts every vector back at its place. The
vectors are kept as the JSON the upstream (or the in-process model) wrote and replayed as that JSON
(``orjson.Fragment``), so a stored vector comes back bit for bit.

Usage per input: the upstream reports one ``prompt_tokens`` for a whole batch, so each input of a batch
is stored with its share of it, in proportion to its length (exact for a single input); the shares of
one batch add up to its count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.cache.entry import Entry
from gateway.errors import UpstreamFailed


def inputs_of(value: Any) -> tuple[list[Any], bool] | None:
    """The inputs of an ``input`` field and whether it was one input (a string or one list of token
    ids); None for a shape the cache leaves to the endpoint to refuse."""
    if isinstance(value, str):
        return [value], True
    if isinstance(value, list) and value:
        if all(isinstance(item, int) for item in value):
            return [value], True
        if all(isinstance(item, str | list) for item in value):
            return list(value), False
    return None


@dataclass(slots=True)
class Lookup:
    """What the cache found for one embedding request."""

    inputs: list[Any]
    single: bool
    keys: list[str]
    found: list[Entry | None]
    level: str = "l1"  # "l2" once any stored input came from Redis
    missing: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.missing = [index for index, entry in enumerate(self.found) if entry is None]

    def saved_usage(self) -> dict[str, int]:
        tokens = sum((entry.usage or {}).get("prompt_tokens", 0) for entry in self.found if entry is not None)
        return {"prompt_tokens": tokens, "total_tokens": tokens}

    def asked_input(self) -> Any:
        """The ``input`` the upstream gets: the inputs not stored, in their order."""
        asked = [self.inputs[index] for index in self.missing]
        return asked[0] if self.single else asked


def _item(index: int, vector: Any) -> dict[str, Any]:
    return {"object": "embedding", "index": index, "embedding": vector}


def stored_answer(lookup: Lookup, model: str) -> dict[str, Any]:
    """The answer to a request whose inputs were all stored (usage: what they cost when first made)."""
    data = [_item(i, orjson.Fragment(entry.parts[0])) for i, entry in enumerate(lookup.found) if entry]
    return {"object": "list", "data": data, "model": model, "usage": lookup.saved_usage()}


def apportion(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` split in proportion to ``weights`` (whole numbers that add up to ``total``)."""
    if len(weights) == 1:
        return [total]
    whole = sum(weights) or len(weights)
    weights = weights if sum(weights) else [1] * len(weights)
    shares = [total * weight // whole for weight in weights]
    order = sorted(range(len(weights)), key=lambda i: total * weights[i] % whole, reverse=True)
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


def completed(lookup: Lookup, answer: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, Entry]]]:
    """The whole answer from the upstream's ``answer`` for the missing inputs and the stored ones, and the
    new entries to store. The answer's usage counts every input (as if all were embedded now)."""
    data = answer.get("data")
    if not isinstance(data, list) or len(data) != len(lookup.missing):
        if len(lookup.missing) == len(lookup.inputs):
            return answer, []  # the whole request was asked: pass the answer on as it is, store nothing
        # Asked for some inputs only, the upstream did not answer each: the whole answer cannot be made.
        raise UpstreamFailed(
            f"The upstream answered {len(data) if isinstance(data, list) else 'no'} embeddings "
            f"for {len(lookup.missing)} inputs."
        )
    by_index = sorted(data, key=lambda item: item.get("index", 0))
    spent = int((answer.get("usage") or {}).get("prompt_tokens") or 0)
    shares = apportion(spent, [len(lookup.inputs[index]) for index in lookup.missing])
    new: list[tuple[str, Entry]] = []
    vectors: list[Any] = [None] * len(lookup.inputs)
    for position, item, share in zip(lookup.missing, by_index, shares, strict=True):
        vectors[position] = item.get("embedding")
        value = orjson.dumps(item.get("embedding"), option=orjson.OPT_SERIALIZE_NUMPY)
        new.append((lookup.keys[position], Entry("embedding", (value,), {"prompt_tokens": share})))
    for position, entry in enumerate(lookup.found):
        if entry is not None:
            vectors[position] = orjson.Fragment(entry.parts[0])
    tokens = spent + lookup.saved_usage()["prompt_tokens"]
    whole = {
        **answer,
        "data": [_item(index, vector) for index, vector in enumerate(vectors)],
        "usage": {**(answer.get("usage") or {}), "prompt_tokens": tokens, "total_tokens": tokens},
    }
    return whole, new
