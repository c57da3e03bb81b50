"""The command-line options of ``benchmarks/gateway/run.py``: the targets, load levels, durations, cores,
and where results go."""

from __future__ import annotations

import argparse
from pathlib import Path

import servers
from servers_chain import CHAIN_TARGETS

from benchmarks.provenance import RESULTS_DIR

TARGETS = ("direct", "relay", "gateway", "gateway-full", "litellm", "litellm-keyed", *CHAIN_TARGETS)
# Targets that check a key and count limits in Redis; the gateway ones keep a ledger and an audit log too.
KEYED = ("gateway-full", "litellm-keyed", *CHAIN_TARGETS)
LEDGERED = ("gateway-full", *CHAIN_TARGETS)
# What a run measures without --targets: the chain targets of issue 9 are asked for by name.
DEFAULT_TARGETS = ("direct", "relay", "gateway", "gateway-full", "litellm", "litellm-keyed")


def parse_args(argv: list[str] | None = None, description: str = "") -> argparse.Namespace:
    """The benchmark's options (``run.py --help`` lists them)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS_DIR / "gateway.json",
        help="the results as JSON, with the commit measured (default: docs/benchmarks/results/gateway.json)",
    )
    parser.add_argument("--markdown", type=Path, help="also write the tables to this file")
    parser.add_argument(
        "--targets",
        nargs="+",
        choices=TARGETS,
        default=list(DEFAULT_TARGETS),
        help="what to measure, in this order (--targets direct relay gateway gateway-full leaves LiteLLM "
        "out); gateway-full and litellm-keyed check a key and count limits in Redis; gateway-chain-miss, "
        "gateway-chain-hit and gateway-chain-hit-l2 (not run unless named) add screening, the cache and "
        "the output policies",
    )
    parser.add_argument("--rates", type=float, nargs="+", default=[25, 50, 75, 100, 200, 400, 800, 1600])
    parser.add_argument("--stream-rates", type=float, nargs="+", default=[10, 25, 50, 100, 200, 400])
    parser.add_argument(
        "--concurrency",
        type=int,
        nargs="+",
        default=[16, 64, 256],
        help="closed-loop connections (maximum throughput is the best of these)",
    )
    parser.add_argument("--stream-concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per load level")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each")
    parser.add_argument(
        "--min-requests",
        type=int,
        default=1000,
        help="measured requests at least, per open-loop level (longer at low rates)",
    )
    parser.add_argument("--stream-min-requests", type=int, default=500)
    parser.add_argument("--timeout", type=float, default=10.0, help="per-request timeout, seconds")
    parser.add_argument("--max-p99-ms", type=float, default=1000.0, help="p99 bound of a sustained rate")
    parser.add_argument("--chunks", type=int, default=16, help="content chunks per streamed answer")
    parser.add_argument("--chunk-interval-ms", type=float, default=1.0)
    parser.add_argument("--proxy-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1, help="the load generator's and the mock's")
    parser.add_argument("--pause", type=float, default=1.0, help="seconds of rest between load levels")
    parser.add_argument("--genai-bin", type=Path, default=servers.ROOT / ".venv" / "bin" / "genai")
    parser.add_argument(
        "--litellm-bin", type=Path, default=servers.ROOT / ".venv-litellm" / "bin" / "litellm"
    )
    parser.add_argument("--workdir", type=Path, help="configs and server logs (default: a temp dir)")
    parser.add_argument(
        "--ledger-database-url",
        help="the ledger and audit database of gateway-full and the chain targets (default: SQLite under "
        "each one's home in the workdir)",
    )
    parser.add_argument(
        "--noise-threshold",
        type=float,
        default=0.15,
        help="cores other processes may use during a level before it is measured again",
    )
    parser.add_argument("--noise-retries", type=int, default=2)
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=300.0,
        help="longest wait, seconds, for other processes to calm down before a retry",
    )
    return parser.parse_args(argv)
