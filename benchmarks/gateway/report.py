"""Tables and verdicts for the gateway benchmark's results (the JSON that ``run.py`` writes).

Overhead at a rate is a proxy's latency percentile minus the direct latency percentile at the same rate
(the same load generator, the same mock, no proxy). A rate counts as sustained by a proxy when it
delivered >= 95% of the offered rate with no errors and a p99 under the bound; the targets compare the
gateway with LiteLLM at every rate LiteLLM sustains.

    python benchmarks/gateway/report.py results.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

PROXIES = ("gateway", "litellm")
KEYED = ("gateway-full", "litellm-keyed")  # the same proxies checking a key and counting limits
# The gateway with issue 9's whole chain (screening, cache, output policies), for a miss and for hits:
CHAIN = ("gateway-chain-miss", "gateway-chain-hit", "gateway-chain-hit-l2")
LABELS = {
    "direct": "direct",
    "relay": "relay",
    "gateway": "gateway",
    "litellm": "LiteLLM",
    "gateway-full": "gateway, full chain",
    "litellm-keyed": "LiteLLM, master key + rpm",
    "gateway-chain-miss": "gateway, whole chain, cache miss",
    "gateway-chain-hit": "gateway, whole chain, L1 hit",
    "gateway-chain-hit-l2": "gateway, whole chain, L2 hit",
}
OVERHEAD_FACTOR = 5.0  # the gateway's p99 overhead must be at most LiteLLM's divided by this
THROUGHPUT_FACTOR = 5.0  # and its maximum throughput at least this multiple of LiteLLM's
THROUGHPUT_STRETCH = 10.0

Row = dict[str, Any]


def _by_rate(rows: list[Row]) -> dict[float, Row]:
    return {row["target_rate"]: row for row in rows}


def sustained(row: Row | None, max_p99_ms: float) -> bool:
    if row is None or row.get("skipped") or row["errors"] or not row["ok"]:
        return False
    return bool(row["achieved_rps"] >= 0.95 * row["target_rate"] and row["latency_ms"]["p99"] < max_p99_ms)


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def _pair(stats: dict[str, float] | None) -> str:
    if not stats:
        return "-"
    return f"{_ms(stats.get('p50'))} / {_ms(stats.get('p99'))}"


def overhead(row: Row | None, base: Row | None, key: str = "latency_ms") -> dict[str, float] | None:
    if row is None or base is None or row.get("skipped") or not row[key] or not base[key]:
        return None
    return {q: row[key][q] - base[key][q] for q in ("p50", "p99")}


def _cell(row: Row | None, max_p99_ms: float, key: str = "latency_ms") -> str:
    if row is None:
        return "-"
    if row.get("skipped"):
        return "skipped"
    text = _pair(row[key])
    return text if sustained(row, max_p99_ms) else f"{text} ✗"


def _achieved(row: Row | None) -> str:
    if row is None or row.get("skipped"):
        return "-"
    return f"{row['achieved_rps']:.0f}"


def _errors(row: Row | None) -> str:
    if row is None or row.get("skipped"):
        return "-"
    return str(sum(row["errors"].values()))


def rate_table(results: dict[str, Any], kind: str, max_p99_ms: float) -> list[str]:
    """Markdown rows for ``kind`` ("open" or "stream_open"): one line per offered rate."""
    key = "ttft_ms" if kind == "stream_open" else "latency_ms"
    what = "TTFT" if key == "ttft_ms" else "latency"
    series = {name: _by_rate(results.get(name, {}).get(kind, [])) for name in LABELS}
    relay = bool(series["relay"])
    header = (
        f"| rate (req/s) | direct {what} p50 / p99 |"
        + (" relay overhead p50 / p99 |" if relay else "")
        + " gateway p50 / p99 | gateway overhead p50 / p99 | LiteLLM p50 / p99 "
        "| LiteLLM overhead p50 / p99 | achieved gw / LiteLLM | errors gw / LiteLLM |"
    )
    lines = [header, "|" + "---|" * (9 if relay else 8)]
    for rate in sorted(series["direct"]):
        base = series["direct"][rate]
        gw, ll = series["gateway"].get(rate), series["litellm"].get(rate)
        floor = f" {_pair(overhead(series['relay'].get(rate), base, key))} |" if relay else ""
        lines.append(
            f"| {rate:g} | {_pair(base[key])} |{floor} {_cell(gw, max_p99_ms, key)} | "
            f"{_pair(overhead(gw, base, key))} | {_cell(ll, max_p99_ms, key)} | "
            f"{_pair(overhead(ll, base, key))} | {_achieved(gw)} / {_achieved(ll)} | "
            f"{_errors(gw)} / {_errors(ll)} |"
        )
    return lines


def best_closed(results: dict[str, Any], name: str, kind: str = "closed") -> Row | None:
    rows = [row for row in results.get(name, {}).get(kind, []) if not row["errors"]]
    return max(rows, key=lambda row: row["achieved_rps"], default=None)


def _cpu(row: Row) -> str:
    cpu = row.get("cpu_us_per_request") or {}
    text = " / ".join(f"{cpu[name]:.0f}" if name in cpu else "-" for name in ("proxy", "mock", "loadgen"))
    # The keyed targets' limits run in Redis: its CPU is part of what they cost.
    return text + (f" (+ Redis {cpu['redis']:.0f})" if "redis" in cpu else "")


def throughput_table(results: dict[str, Any], kind: str) -> list[str]:
    lines = [
        "| target | max throughput (req/s) | at connections | p50 / p99 latency (ms) "
        "| CPU µs per request: proxy / mock / load generator | all runs (connections: req/s) |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("direct", *PROXIES, *(name for name in (*KEYED, *CHAIN) if name in results)):
        best = best_closed(results, name, kind)
        runs = ", ".join(
            f"{row['concurrency']}: {row['achieved_rps']:.0f}"
            + (f" ({sum(row['errors'].values())} errors)" if row["errors"] else "")
            for row in results.get(name, {}).get(kind, [])
        )
        if best is None:
            lines.append(f"| {LABELS[name]} | - | - | - | - | {runs or '-'} |")
            continue
        lines.append(
            f"| {LABELS[name]} | {best['achieved_rps']:.0f} | {best['concurrency']} | "
            f"{_pair(best['latency_ms'])} | {_cpu(best)} | {runs} |"
        )
    return lines


def verdicts(results: dict[str, Any], max_p99_ms: float) -> list[str]:
    """The issue's targets, each with the numbers it was judged on."""
    lines: list[str] = []
    for kind, what in (("open", "non-streaming latency"), ("stream_open", "streaming TTFT")):
        key = "ttft_ms" if kind == "stream_open" else "latency_ms"
        direct = _by_rate(results.get("direct", {}).get(kind, []))
        gateway = _by_rate(results.get("gateway", {}).get(kind, []))
        litellm = _by_rate(results.get("litellm", {}).get(kind, []))
        if not litellm or not gateway:
            lines.append(f"- p99 {what} overhead: not measured (needs both proxies)")
            continue
        judged = [rate for rate, row in sorted(litellm.items()) if sustained(row, max_p99_ms)]
        checks = []
        for rate in judged:
            gw_over = overhead(gateway.get(rate), direct.get(rate), key)
            ll_over = overhead(litellm[rate], direct.get(rate), key)
            if gw_over is None or ll_over is None or not sustained(gateway.get(rate), max_p99_ms):
                checks.append((rate, False, "gateway did not sustain it"))
                continue
            ok = gw_over["p99"] <= ll_over["p99"] / OVERHEAD_FACTOR
            ratio = ll_over["p99"] / gw_over["p99"] if gw_over["p99"] > 0 else float("inf")
            checks.append((rate, ok, f"{_ms(gw_over['p99'])} vs {_ms(ll_over['p99'])} ms, {ratio:.1f}x"))
        met = bool(checks) and all(ok for _, ok, _ in checks)
        detail = "; ".join(f"{rate:g}/s: {text}" for rate, _, text in checks) or "LiteLLM sustained no rate"
        lines.append(
            f"- p99 {what} overhead <= 1/{OVERHEAD_FACTOR:g} of LiteLLM's at every rate LiteLLM "
            f"sustains: **{'met' if met else 'NOT met'}** ({detail})"
        )
    for kind, what in (("closed", "non-streaming"), ("stream_closed", "streaming")):
        gw, ll = best_closed(results, "gateway", kind), best_closed(results, "litellm", kind)
        if gw is None or ll is None or not ll["achieved_rps"]:
            lines.append(f"- {what} maximum throughput: not measured")
            continue
        ratio = gw["achieved_rps"] / ll["achieved_rps"]
        verdict = (
            "met, stretch met"
            if ratio >= THROUGHPUT_STRETCH
            else "met"
            if ratio >= THROUGHPUT_FACTOR
            else "NOT met"
        )
        target = (
            f" (target >= {THROUGHPUT_FACTOR:g}x, stretch {THROUGHPUT_STRETCH:g}x)"
            if kind == "closed"
            else ""
        )
        lines.append(
            f"- {what} maximum throughput: gateway {gw['achieved_rps']:.0f} req/s vs LiteLLM "
            f"{ll['achieved_rps']:.0f} req/s = **{ratio:.1f}x**{target}: "
            f"{verdict if kind == 'closed' else 'for information'}"
        )
    return lines


def noise_lines(data: dict[str, Any]) -> list[str]:
    """Per target: other processes' CPU over the whole target and at its noisiest level."""
    threshold = data["meta"].get("noise_threshold", 0.15)
    lines = []
    for name, noise in data.get("noise", {}).items():
        rows = [
            row
            for kind in ("open", "closed", "stream_open", "stream_closed")
            for row in data["results"].get(name, {}).get(kind, [])
            if "noise" in row
        ]
        worst = max((row["noise"]["foreign_cores"] for row in rows), default=0.0)
        noisy = sum(row["noise"]["foreign_cores"] > threshold for row in rows)
        repeats = sum(row.get("attempts", 1) - 1 for row in rows)
        lines.append(
            f"- {LABELS[name]}: others used {noise['foreign_cores']:.2f} cores on average, "
            f"{worst:.2f} at the noisiest level; {noisy} of {len(rows)} levels above "
            f"{threshold:g} cores, {repeats} repeated; load average {noise['loadavg_start'][0]:.2f}"
            f" -> {noise['loadavg_end'][0]:.2f}"
        )
    return lines


def render(data: dict[str, Any]) -> str:
    """The whole report as markdown."""
    import report_chain  # they build on this module's helpers
    import report_keyed

    results = data["results"]
    max_p99 = data["meta"]["max_p99_ms"]
    meta = data["meta"]
    parts = [
        f"Sustained: achieved >= 95% of the offered rate, p99 < {max_p99:g} ms, no errors; ✗ marks a rate a "
        "proxy did not sustain, `skipped`: not run after a lower rate was not sustained. Latencies in ms, "
        "from each request's scheduled send time.",
        "",
        "Non-streaming chat completions, open loop:",
        "",
        *rate_table(results, "open", max_p99),
        "",
        "Maximum throughput, non-streaming (closed loop, back-to-back requests on N connections):",
        "",
        *throughput_table(results, "closed"),
        "",
        f"Streaming ({meta['chunks']} content chunks, {meta['chunk_interval_ms']:g} ms apart), time to first "
        "token, open loop:",
        "",
        *rate_table(results, "stream_open", max_p99),
        "",
        "Maximum throughput, streaming (closed loop):",
        "",
        *throughput_table(results, "stream_closed"),
        "",
        "Targets:",
        "",
        *verdicts(results, max_p99),
        *report_keyed.section(data),
        *report_chain.section(data),
        "",
        "Machine load: CPU used by processes other than the benchmark's (cores), and the 1-minute "
        "load average at the start and end of each target's measurements:",
        "",
        *noise_lines(data),
    ]
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description="Print the tables of a gateway benchmark JSON file.")
    parser.add_argument("results", type=Path)
    args = parser.parse_args()
    print(render(json.loads(args.results.read_text())))


if __name__ == "__main__":
    main()
