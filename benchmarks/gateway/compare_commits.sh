#!/usr/bin/env bash
# Interleaved A/B of the gateway's closed-loop throughput and CPU per request at two commits, on this
# machine, in the same hour: `benchmarks/gateway/compare_commits.sh BASE HEAD [ROUNDS]`.
#
# Each commit is checked out in a git worktree under $TMPDIR and served by this checkout's venv with
# PYTHONPATH pointing at the worktree, so both sides run the same dependencies. Each round runs both sides
# once (short levels: 16 connections for 6 s). This VM's speed drifts by tens of percent from minute to
# minute, so compare the proxy's CPU per request divided by the mock upstream's (the mock's code is the
# same on both sides: the ratio cancels the machine's drift), not the raw requests/s.
set -euo pipefail
cd "$(dirname "$0")/../.."
base=$1 head=$2 rounds=${3:-3}
work=${TMPDIR:-/tmp}/gateway-ab
mkdir -p "$work"
for round in $(seq "$rounds"); do
  for commit in "$base" "$head"; do
    tree="$work/tree-$commit"
    [ -d "$tree" ] || git worktree add -f -q "$tree" "$commit"
    launcher="$work/genai-$commit"
    printf '#!/bin/sh\nPYTHONPATH=%s exec %s/.venv/bin/genai "$@"\n' "$tree" "$PWD" > "$launcher"
    chmod +x "$launcher"
    out="$work/$commit-$round.json"
    .venv/bin/python benchmarks/gateway/run.py --targets gateway --genai-bin "$launcher" \
      --rates 100 --min-requests 50 --duration 6 --warmup 2 --concurrency 16 --stream-rates 10 \
      --stream-min-requests 10 --stream-concurrency 16 --out "$out" --workdir "$work/run-$commit-$round" \
      > "$work/$commit-$round.log" 2>&1
    .venv/bin/python - "$out" "$commit" "$round" <<'PY'
import json, sys
row = json.load(open(sys.argv[1]))["results"]["gateway"]["closed"][0]
cpu = row["cpu_us_per_request"]
print(f"round {sys.argv[3]} {sys.argv[2]}: {row['achieved_rps']:.0f} req/s, proxy {cpu['proxy']:.0f} us, "
      f"mock {cpu['mock']:.1f} us, proxy/mock {cpu['proxy'] / cpu['mock']:.2f}")
PY
  done
done
for commit in "$base" "$head"; do git worktree remove --force "$work/tree-$commit"; done
