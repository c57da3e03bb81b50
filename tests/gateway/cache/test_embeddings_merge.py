"""Embeddings per input: the whole answer put together from stored vectors and the upstream's, and each
batch's tokens shared among its inputs."""

from __future__ import annotations

import pytest

from gateway.cache.embeddings import Lookup, apportion, completed
from gateway.cache.entry import Entry
from gateway.errors import UpstreamFailed


def test_shares_add_up_and_follow_the_lengths() -> None:
    assert apportion(10, [1]) == [10]
    assert apportion(10, [1, 1, 1]) in ([4, 3, 3], [3, 4, 3], [3, 3, 4])
    assert sum(apportion(10, [1, 1, 1])) == 10
    assert apportion(9, [2, 1]) == [6, 3]
    assert apportion(0, [5, 5]) == [0, 0]
    assert sum(apportion(7, [0, 0])) == 7


def test_fake_upstream_short_of_vectors_fails_a_partly_stored_request_rather_than_drop_inputs() -> None:
    stored = Entry("embedding", (b"[0.5]",), {"prompt_tokens": 1})
    lookup = Lookup(["a", "b", "c"], False, ["ka", "kb", "kc"], [stored, None, None])
    short = {"object": "list", "data": [{"index": 0, "embedding": [0.1]}], "usage": {"prompt_tokens": 2}}
    with pytest.raises(UpstreamFailed):
        completed(lookup, short)
    whole, new = completed(lookup, {**short, "data": [*short["data"], {"index": 1, "embedding": [0.2]}]})
    assert [item["index"] for item in whole["data"]] == [0, 1, 2]
    assert [key for key, _ in new] == ["kb", "kc"]
    assert whole["usage"]["prompt_tokens"] == 3
    assert sum((entry.usage or {})["prompt_tokens"] for _, entry in new) == 2
