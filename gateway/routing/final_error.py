"""What a request answers once every upstream of its model's chain was tried: the client-facing error for
the last failure (503 when no upstream had a worker to try, 429 when all were rate limited, 504 when they
timed out, 502 otherwise)."""

from __future__ import annotations

from gateway.errors import DeadlineExceeded, GatewayError, NoHealthyUpstream, RateLimited, UpstreamFailed
from gateway.upstreams.errors import UpstreamError


def final_error(model: str, failure: UpstreamError | None) -> GatewayError:
    """The error for ``model`` after its chain was exhausted; ``failure`` is the last upstream error."""
    if failure is None:
        return NoHealthyUpstream(f"no healthy upstream can serve the model {model!r}")
    detail = f"{failure.reason}" + (f" (HTTP {failure.status})" if failure.status else "")
    if failure.reason == "rate_limited":
        return RateLimited(f"every upstream of {model!r} is rate limited; try again later")
    if failure.reason == "timeout":
        return DeadlineExceeded(f"the upstreams of {model!r} timed out")
    return UpstreamFailed(f"every upstream of {model!r} failed; last error: {detail}")
