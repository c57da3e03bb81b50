"""The cache key of a request, and whether a request may be cached at all.

A key is the SHA-256 of one sorted-key JSON document: the key format, the endpoint, the tenant (no
tenant ever reads another's entries), the model version that serves the request (``NAME/N`` when the
registry pinned one, so an alias that moves to a new version misses; else the route's name) and the
body as the upstream will get it, normalised:

* ``user`` is dropped: it identifies the end user for abuse tracking and never shapes the answer;
  the tenant already separates callers who must not share entries;
* ``stream`` and ``stream_options`` become one field, present only for a stream: whether the usage chunk
  is part of it (``include_usage``). A stream and a plain answer never share an entry: each is replayed
  exactly as it was first sent;
* everything else stays, the client's model name included (it is in the answer's ``model`` field).

An embedding request has one key per input (``input_keys``): the body without ``input`` and ``user``,
and the input itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from gateway.context import RequestContext
from gateway.principal import ANONYMOUS

KEY_FORMAT = "genai-cache/1"
_NO_CACHE = frozenset({"no-cache", "no-store"})
_DROPPED = frozenset({"user", "stream", "stream_options"})
_TRUE = frozenset({"1", "true", "yes", "on"})


def tenant_of(ctx: RequestContext) -> str:
    return (ctx.principal or ANONYMOUS).tenant


def is_deterministic(body: Mapping[str, Any]) -> bool:
    """Whether the same body gets the same answer: greedy decoding (temperature 0) or a fixed seed."""
    temperature = body.get("temperature")
    return temperature == 0 or body.get("seed") is not None


def bypassed(headers: Mapping[str, str] | None) -> bool:
    """Whether the caller asked not to be served from, nor stored in, the cache: ``Cache-Control:
    no-cache`` or ``no-store`` (the evaluation runner sends it: it measures the model, not the cache)."""
    if headers is None:
        return False
    value = headers.get("cache-control")
    return value is not None and any(d.strip().lower() in _NO_CACHE for d in value.split(","))


def opted_in(headers: Mapping[str, str] | None, header: str) -> bool:
    """Whether the caller asked for caching with ``header`` (accepting a repeated sampled answer)."""
    if headers is None:
        return False
    value = headers.get(header)
    return value is not None and value.strip().lower() in _TRUE


def normalised(body: Mapping[str, Any], stream: bool) -> dict[str, Any]:
    """``body`` as the key sees it (the module docstring says what changes)."""
    kept = {name: value for name, value in body.items() if name not in _DROPPED}
    if stream:
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        kept["stream"] = {"include_usage": include_usage}
    return kept


def _digest(document: Any) -> str:
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _model(ctx: RequestContext) -> str:
    return ctx.model_version or ctx.model


def request_key(ctx: RequestContext, body: Mapping[str, Any]) -> str:
    """The key of a chat or text completion (streamed or not)."""
    return _digest([KEY_FORMAT, ctx.endpoint, tenant_of(ctx), _model(ctx), normalised(body, ctx.stream)])


def input_keys(ctx: RequestContext, body: Mapping[str, Any], inputs: Sequence[Any]) -> list[str]:
    """One key per embedding input: the same request parameters, each input on its own."""
    rest = {name: value for name, value in body.items() if name not in _DROPPED and name != "input"}
    prefix = orjson.dumps(
        [KEY_FORMAT, "embeddings", tenant_of(ctx), _model(ctx), rest], option=orjson.OPT_SORT_KEYS
    )
    keys = []
    for item in inputs:
        digest = hashlib.sha256(prefix)
        digest.update(b"\x00")
        digest.update(orjson.dumps(item))
        keys.append(digest.hexdigest())
    return keys
