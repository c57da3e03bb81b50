"""Tables for issue 9's targets: the gateway with its whole request chain (screening, cache, output
policies on top of gateway-full's keys, limits and ledger) for a cache miss and for cache hits (see
``servers_chain.py``).

A miss goes to the upstream like every other target: its cost is an overhead over ``direct`` at the same
rate. A hit never reaches the upstream, so "overhead" would subtract a mock it did not wait for: the
tables give a hit's own latency and, beside it, its difference from direct (negative when answering from
the cache is quicker than the mock's round trip).
"""

from __future__ import annotations

from typing import Any

from report import CHAIN, _achieved, _by_rate, _cell, _errors, _pair, overhead

Row = dict[str, Any]


def chain_rate_table(results: dict[str, Any], kind: str, max_p99_ms: float) -> list[str]:
    """One line per offered rate: direct, gateway-full's overhead, the miss's overhead, the hits."""
    key = "ttft_ms" if kind == "stream_open" else "latency_ms"
    what = "TTFT" if key == "ttft_ms" else "latency"
    names = ("direct", "gateway-full", *CHAIN)
    series = {name: _by_rate(results.get(name, {}).get(kind, [])) for name in names}
    l2 = bool(series["gateway-chain-hit-l2"])
    header = (
        f"| rate (req/s) | direct {what} p50 / p99 | full chain overhead p50 / p99 "
        "| whole chain, miss p50 / p99 | miss overhead p50 / p99 | L1 hit p50 / p99 "
        "| L1 hit - direct p50 / p99 |"
        + (" L2 hit p50 / p99 | L2 hit - direct p50 / p99 |" if l2 else "")
        + (
            " achieved miss / hit / L2 hit | errors miss / hit / L2 hit |"
            if l2
            else " achieved miss / hit | errors miss / hit |"
        )
    )
    lines = [header, "|" + "---|" * (11 if l2 else 9)]
    for rate in sorted(series["direct"]):
        base = series["direct"][rate]
        full, miss = series["gateway-full"].get(rate), series["gateway-chain-miss"].get(rate)
        hit, hit2 = series["gateway-chain-hit"].get(rate), series["gateway-chain-hit-l2"].get(rate)
        second = f" {_cell(hit2, max_p99_ms, key)} | {_pair(overhead(hit2, base, key))} |" if l2 else ""
        achieved = f"{_achieved(miss)} / {_achieved(hit)}" + (f" / {_achieved(hit2)}" if l2 else "")
        errors = f"{_errors(miss)} / {_errors(hit)}" + (f" / {_errors(hit2)}" if l2 else "")
        lines.append(
            f"| {rate:g} | {_pair(base[key])} | {_pair(overhead(full, base, key))} | "
            f"{_cell(miss, max_p99_ms, key)} | {_pair(overhead(miss, base, key))} | "
            f"{_cell(hit, max_p99_ms, key)} | {_pair(overhead(hit, base, key))} |{second} "
            f"{achieved} | {errors} |"
        )
    return lines


def _lookup_checks(results: dict[str, Any]) -> list[str]:
    """Per chain target: its cache lookups by result as its gateway counted them, and the verdict
    whether they are what the target measures (a miss target no hit, a hit target hits)."""
    from servers_chain import cache_verdict

    lines = []
    for name in CHAIN:
        checks = results.get(name, {}).get("checks")
        if not checks:
            continue
        if "cache_lookups" not in checks:
            lines.append(f"- {name}: no cache lookups read")
            continue
        ok, text = cache_verdict(name, checks["cache_lookups"])
        meant = "every request missed" if name == "gateway-chain-miss" else "the requests were hits"
        others = ", ".join(f"{key}: {value}" for key, value in checks.items() if key != "cache_lookups")
        lines.append(f"- {name}: {meant}: **{'yes' if ok else 'NO'}** ({text}); {others}")
    return lines


def section(data: dict[str, Any]) -> list[str]:
    """The chain targets' part of the report; empty when the run measured none of them."""
    results = data["results"]
    if not any(name in results for name in CHAIN):
        return []
    max_p99 = data["meta"]["max_p99_ms"]
    return [
        "",
        "With the whole chain (auth, limits, screening, context, response_format, cache, output_filter, "
        "metrics, access_log, ledger, audit; one API key, limits and the cache's L2 in Redis), "
        "non-streaming, open loop. A miss is unique and deterministic (looked up, missed, asked, stored); "
        "a hit is the same deterministic body every time and never reaches the mock, so its own latency "
        "is given and its difference from direct (not an overhead):",
        "",
        *chain_rate_table(results, "open", max_p99),
        "",
        "With the whole chain, streaming time to first token, open loop (a hit replays the stored stream):",
        "",
        *chain_rate_table(results, "stream_open", max_p99),
        "",
        "Cache checks after each chain target (the gateway's genai_gateway_cache_lookups_total by result, "
        "warm-up, smoke and closed-loop requests included; status of a request without a key; the "
        "gateway's metrics; Redis keys of the run deleted; rows in its ledger and audit log):",
        "",
        *_lookup_checks(results),
    ]
