"""Tables and verdicts for the keyed targets: ``gateway-full`` beside ``gateway``, ``litellm-keyed`` beside
``litellm`` (see ``servers_keyed.py`` for what each checks and counts).

The goals judged are issue 8's, on the proxy's one core: the full chain's p99 overhead (over direct, at the
same rate) under 5 ms at every offered rate up to 400 requests/s, and its maximum throughput at least 60%
of the plain gateway's, measured in the same run (the chain every run before issue 8 measured).
"""

from __future__ import annotations

from typing import Any

from report import _achieved, _by_rate, _cell, _errors, _ms, _pair, best_closed, overhead

OVERHEAD_GOAL_MS = 5.0
GOAL_UP_TO_RPS = 400.0
THROUGHPUT_SHARE = 0.60

Row = dict[str, Any]


def keyed_rate_table(results: dict[str, Any], kind: str, max_p99_ms: float) -> list[str]:
    """One line per offered rate: each keyed target next to its plain counterpart's overhead."""
    key = "ttft_ms" if kind == "stream_open" else "latency_ms"
    what = "TTFT" if key == "ttft_ms" else "latency"
    series = {
        name: _by_rate(results.get(name, {}).get(kind, []))
        for name in ("direct", "gateway", "gateway-full", "litellm", "litellm-keyed")
    }
    lines = [
        f"| rate (req/s) | direct {what} p50 / p99 | gateway overhead p50 / p99 | full chain p50 / p99 "
        "| full chain overhead p50 / p99 | LiteLLM overhead p50 / p99 | LiteLLM keyed p50 / p99 "
        "| LiteLLM keyed overhead p50 / p99 | achieved full / keyed | errors full / keyed |",
        "|" + "---|" * 10,
    ]
    for rate in sorted(series["direct"]):
        base = series["direct"][rate]
        plain, full = series["gateway"].get(rate), series["gateway-full"].get(rate)
        litellm, keyed = series["litellm"].get(rate), series["litellm-keyed"].get(rate)
        lines.append(
            f"| {rate:g} | {_pair(base[key])} | {_pair(overhead(plain, base, key))} | "
            f"{_cell(full, max_p99_ms, key)} | {_pair(overhead(full, base, key))} | "
            f"{_pair(overhead(litellm, base, key))} | {_cell(keyed, max_p99_ms, key)} | "
            f"{_pair(overhead(keyed, base, key))} | {_achieved(full)} / {_achieved(keyed)} | "
            f"{_errors(full)} / {_errors(keyed)} |"
        )
    return lines


def _overhead_goal(results: dict[str, Any], max_p99_ms: float) -> str:
    from report import sustained

    direct = _by_rate(results.get("direct", {}).get("open", []))
    full = _by_rate(results.get("gateway-full", {}).get("open", []))
    rates = [rate for rate in sorted(full) if rate <= GOAL_UP_TO_RPS]
    if not rates or not direct:
        return "- full chain p99 overhead: not measured (needs direct and gateway-full)"
    checks = []
    for rate in rates:
        over = overhead(full[rate], direct.get(rate))
        ok = over is not None and sustained(full[rate], max_p99_ms) and over["p99"] < OVERHEAD_GOAL_MS
        checks.append((rate, ok, _ms(over["p99"]) if over else "not sustained"))
    met = all(ok for _, ok, _ in checks)
    detail = "; ".join(f"{rate:g}/s: {text}" for rate, _, text in checks)
    return (
        f"- full chain p99 overhead < {OVERHEAD_GOAL_MS:g} ms at every rate up to {GOAL_UP_TO_RPS:g}/s: "
        f"**{'met' if met else 'NOT met'}** ({detail})"
    )


def _throughput_goal(results: dict[str, Any], kind: str, what: str) -> str:
    plain, full = best_closed(results, "gateway", kind), best_closed(results, "gateway-full", kind)
    if plain is None or full is None or not plain["achieved_rps"]:
        return f"- full chain {what} maximum throughput: not measured (needs gateway and gateway-full)"
    share = full["achieved_rps"] / plain["achieved_rps"]
    verdict = ("met" if share >= THROUGHPUT_SHARE else "NOT met") if kind == "closed" else "for information"
    return (
        f"- full chain {what} maximum throughput: {full['achieved_rps']:.0f} vs {plain['achieved_rps']:.0f} "
        f"req/s without keys, limits and ledger = **{share:.0%}** "
        f"(target >= {THROUGHPUT_SHARE:.0%}): {verdict}"
    )


def _checks(results: dict[str, Any]) -> list[str]:
    """What shows the keyed targets really checked keys, counted in Redis and wrote the ledger."""
    lines = []
    for name in ("gateway-full", "litellm-keyed"):
        checks = results.get(name, {}).get("checks")
        if checks:
            text = ", ".join(f"{key}: {value}" for key, value in checks.items())
            lines.append(f"- {name}: {text}")
    return lines


def section(data: dict[str, Any]) -> list[str]:
    """The keyed targets' part of the report; empty when the run measured none of them."""
    results = data["results"]
    if not any(name in results for name in ("gateway-full", "litellm-keyed")):
        return []
    max_p99 = data["meta"]["max_p99_ms"]
    return [
        "",
        "With keys, limits and the ledger (gateway-full: issue 8's chain, one API key, limits in Redis, "
        "ledger and audit log on; LiteLLM keyed: master key, router rpm/tpm in Redis), non-streaming, "
        "open loop:",
        "",
        *keyed_rate_table(results, "open", max_p99),
        "",
        "With keys, limits and the ledger, streaming time to first token, open loop:",
        "",
        *keyed_rate_table(results, "stream_open", max_p99),
        "",
        "Issue 8 goals (on the proxy's one core):",
        "",
        _overhead_goal(results, max_p99),
        _throughput_goal(results, "closed", "non-streaming"),
        _throughput_goal(results, "stream_closed", "streaming"),
        "",
        "Checks after each keyed target (status of a request without a key; the gateway's metrics at the "
        "end; Redis keys of the run deleted; rows in its ledger and audit log):",
        "",
        *_checks(results),
    ]
