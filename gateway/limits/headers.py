"""What a client is told about its limits: OpenAI's ``x-ratelimit-*`` headers on every answer, and the
429 refusals with ``Retry-After``.

For requests and for tokens the header trio (``x-ratelimit-limit-*``, ``-remaining-*``, ``-reset-*``)
describes the tightest limit of that kind the request was counted against (the key's or the tenant's,
whichever has less left). ``reset`` is when the oldest counted entry leaves the one-minute window, i.e.
when ``remaining`` next goes up, in OpenAI's duration format (``120ms``, ``1.5s``, ``1m0s``). A refusal
adds ``Retry-After`` (seconds, rounded up) and ``retry-after-ms`` (the official ``openai`` clients honour
it), both saying when the request would fit. A refusal no wait can cure (a request larger than the limit
itself, a spent budget) carries ``x-should-retry: false`` so those clients do not retry it.
"""

from __future__ import annotations

from gateway.errors import GatewayError, RateLimited
from gateway.limits.plan import NEVER, Decision, Plan, RateState


class BudgetExceeded(GatewayError):
    """429 (OpenAI answers a spent quota with 429 ``insufficient_quota``): the period's budget is spent."""

    status = 429
    type = "insufficient_quota"
    code = "budget_exceeded"


def duration(ms: int) -> str:
    """OpenAI's format for a reset time: ``17ms``, ``8.64s``, ``6m0s``."""
    if ms < 1000:
        return f"{max(0, ms)}ms"
    minutes, seconds = divmod(ms / 1000, 60)
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return f"{int(minutes)}m{text}s" if minutes else f"{text}s"


def rate_headers(plan: Plan, decision: Decision) -> dict[str, str]:
    """The ``x-ratelimit-*`` headers for the limits ``plan`` was checked against."""
    headers: dict[str, str] = {}
    for kind in ("requests", "tokens"):
        tightest: tuple[int, int, RateState] | None = None
        for rate, state in zip(plan.rates, decision.rates, strict=True):
            if rate.kind != kind:
                continue
            remaining = max(0, rate.limit - state.used)
            if tightest is None or remaining < tightest[1]:
                tightest = (rate.limit, remaining, state)
        if tightest is not None:
            limit, remaining, state = tightest
            headers[f"x-ratelimit-limit-{kind}"] = str(limit)
            headers[f"x-ratelimit-remaining-{kind}"] = str(remaining)
            headers[f"x-ratelimit-reset-{kind}"] = duration(state.reset_ms)
    return headers


def refusal(plan: Plan, decision: Decision) -> tuple[GatewayError, str, str]:
    """The error that refuses a request ``decision`` did not allow, with the reason and scope it is
    counted under (``genai_gateway_limit_rejections``). A spent budget wins: no wait cures it."""
    headers = rate_headers(plan, decision)
    for budget, spent, over in zip(plan.budgets, decision.spent, decision.over_budget, strict=True):
        if over:
            headers.update(_retry_after(int(budget.resets_in_s * 1000)))
            headers["x-should-retry"] = "false"
            error: GatewayError = BudgetExceeded(
                f"The budget of {budget.label} for this period is spent: "
                f"{spent / 1e9:.6f} of {budget.budget / 1e9:.6f} USD used (or reserved by requests in "
                "flight); it resets when the period ends."
            )
            error.headers = headers
            return error, "budget", budget.scope
    refused = [
        (rate, state) for rate, state in zip(plan.rates, decision.rates, strict=True) if state.retry_ms
    ]
    never = [pair for pair in refused if pair[1].retry_ms == NEVER]
    if never:
        rate, state = never[0]
        headers["x-should-retry"] = "false"
        error = RateLimited(
            f"Request too large for {rate.kind} per minute of {rate.label}: "
            f"limit {rate.limit}, requested {rate.weight}. Ask for fewer tokens (max_tokens)."
        )
        error.headers = headers
        return error, rate.kind, rate.scope
    rate, state = max(refused, key=lambda pair: pair[1].retry_ms)
    wait_ms = max(state.retry_ms for _, state in refused)
    headers.update(_retry_after(wait_ms))
    error = RateLimited(
        f"Rate limit reached for {rate.kind} per minute of {rate.label}: limit {rate.limit}, "
        f"used {state.used}, requested {rate.weight}. Please try again in {duration(wait_ms)}."
    )
    error.headers = headers
    return error, rate.kind, rate.scope


def _retry_after(ms: int) -> dict[str, str]:
    return {"retry-after": str(max(1, -(-ms // 1000))), "retry-after-ms": str(max(0, ms))}
