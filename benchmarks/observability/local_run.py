"""The observability local run: the platform under real traffic, scraped by a real Prometheus with the
shipped configuration and alert rules, then every alert and dashboard query evaluated on what it scraped.

    .venv/bin/python benchmarks/observability/local_run.py --seconds 240

Starts a vLLM worker (`genai worker`, the tiny model), `genai up` (the Prefect server, the gateway, the
metrics exporter, the served flows), ingests two small knowledge bases through the Prefect server (one with
a third of its files empty, so they are quarantined), sends traffic (traffic.py), and runs Prometheus
(Debian's `prometheus`) on deployments/observability/prometheus/prometheus.yml with only the ports and the
scrape interval changed. Writes docs/observability/local-run.json (the alerts, each query's series count)
and then deployments/observability/render.py draws the dashboards from that Prometheus. Needs about 2 GB.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from traffic import Keys, run_traffic

ROOT = Path(__file__).resolve().parents[2]
OBS = ROOT / "deployments" / "observability"
GENAI = [str(ROOT / ".venv" / "bin" / "genai")]
PORTS = {"gateway": 18000, "worker": 18001, "dead": 18009, "prefect": 14200, "exporter": 19464, "prom": 19090}

CONFIG = f"""
gateway:
  host: 127.0.0.1
  port: {PORTS["gateway"]}
  policies: [auth, limits, screening, cache, context, metrics, access_log, ledger, audit]
  breaker: {{failure_threshold: 3, open_seconds: 30}}
  upstreams:
    tiny-pool: {{kind: openai, workers: ["http://127.0.0.1:{PORTS["worker"]}"]}}
    # Nothing listens on the dead worker's port, and its health check is off, so the gateway keeps
    # trying it: connection errors, retries, an open circuit.
    dead-pool: {{kind: openai, workers: ["http://127.0.0.1:{PORTS["dead"]}"], health_path: null}}
  models:
    tiny: {{targets: [{{upstream: tiny-pool, model: tiny}}]}}
    broken: {{targets: [{{upstream: dead-pool, model: tiny}}]}}
redis_url: redis://127.0.0.1:6379/5
limits:
  redis_prefix: "genai:obsrun:"
  tiers: {{default: {{requests_per_minute: 200, tokens_per_minute: 200000}}}}
cache: {{l2_prefix: "genai:obsrun:cache:"}}
accounting:
  prices:
    tiny: {{input_per_1m: 50.0, output_per_1m: 150.0}}
prefect: {{host: 127.0.0.1, port: {PORTS["prefect"]}}}
"""


def wait_for(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1.0)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def prometheus_config(run_dir: Path) -> Path:
    """The shipped prometheus.yml with this run's ports and a 5 s scrape, next to a copy of alerts.yml."""
    text = (OBS / "prometheus" / "prometheus.yml").read_text()
    for default, port in (("8000", "gateway"), ("4200", "prefect"), ("9464", "exporter")):
        text = text.replace(f"127.0.0.1:{default}", f"127.0.0.1:{PORTS[port]}")
    text = text.replace('["127.0.0.1:8001", "127.0.0.1:8002"]', f'["127.0.0.1:{PORTS["worker"]}"]')
    text = text.replace("scrape_interval: 15s", "scrape_interval: 5s").replace(
        "scrape_interval: 30s", "scrape_interval: 10s"
    )
    text = text.replace("evaluation_interval: 15s", "evaluation_interval: 5s").replace(
        "scrape_timeout: 10s", "scrape_timeout: 5s"
    )
    shutil.copy(OBS / "prometheus" / "alerts.yml", run_dir / "alerts.yml")
    path = run_dir / "prometheus.yml"
    path.write_text(text)
    return path


def make_sources(run_dir: Path) -> dict[str, Path]:
    """Two knowledge bases: handbook (all good) and wiki (a third of its files empty, so quarantined)."""
    sources = {}
    for kb, files, empty in (("handbook", 9, 0), ("wiki", 9, 3)):
        folder = run_dir / "sources" / kb
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(files):
            text = "" if i < empty else f"# {kb} page {i}\n\nThe ledger keeps one row per request ({i}).\n"
            (folder / f"page-{i}.md").write_text(text)
        sources[kb] = folder
    return sources


def start(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )


def create_capped_key(env: dict[str, str]) -> str:
    result = subprocess.run(
        [*GENAI, "keys", "create", "--tenant", "capped", "--budget", "0.002", "--name", "observability run"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def stop_listeners(ports: list[int]) -> None:
    """End what still listens on this run's ports (children of a `genai up` that did not get to stop
    them), by the process group of the listener."""
    listing = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=False).stdout
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) < 6 or not any(fields[3].endswith(f":{port}") for port in ports):
            continue
        for pid in {int(p) for p in re.findall(r"pid=(\d+)", fields[5])}:
            print(f"stopping the process group of pid {pid}, still on {fields[3]}")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(os.getpgid(pid), signal.SIGTERM)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=240.0, help="How long traffic runs.")
    parser.add_argument("--run-dir", type=Path, default=Path("/tmp/genai-observability-run"))
    parser.add_argument("--worker-running", action="store_true", help="A worker already serves on its port.")
    args = parser.parse_args()
    # Started in the background by a shell, this process (and so every child) would ignore SIGINT, and
    # SIGINT is how `genai up` and `genai worker` are told to stop what they started. A handler here
    # becomes the default disposition in each child after exec.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    run_dir: Path = args.run_dir
    if run_dir.exists():
        shutil.rmtree(run_dir)
    (run_dir / "home").mkdir(parents=True)
    (run_dir / "home" / "config.yaml").write_text(CONFIG)
    env = {
        **os.environ,
        "GENAI_HOME": str(run_dir / "home"),
        "GENAI_CONFIG": str(run_dir / "home" / "config.yaml"),
    }
    children: list[subprocess.Popen[bytes]] = []
    try:
        if not args.worker_running:
            worker = [*GENAI, "worker", "--model", "tiny", "--port", str(PORTS["worker"])]
            children.append(start(worker, run_dir / "worker.log", env))
        wait_for(f"http://127.0.0.1:{PORTS['worker']}/health", 600)
        up = [*GENAI, "up", "--no-mlflow", "--metrics-port", str(PORTS["exporter"])]
        children.append(start(up, run_dir / "up.log", env))
        wait_for(f"http://127.0.0.1:{PORTS['exporter']}/metrics", 300)
        prom = [
            "prometheus",
            f"--config.file={prometheus_config(run_dir)}",
            f"--storage.tsdb.path={run_dir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{PORTS['prom']}",
        ]
        children.append(start(prom, run_dir / "prometheus.log", env))
        wait_for(f"http://127.0.0.1:{PORTS['prom']}/-/ready", 60)
        started = time.time()
        keys = Keys(
            main=(run_dir / "home" / "gateway-client.key").read_text().strip(), capped=create_capped_key(env)
        )
        for kb, folder in make_sources(run_dir).items():
            subprocess.run(
                [*GENAI, "ingest", str(folder), "--kb", kb],
                env=env,
                check=False,
                stdout=(run_dir / f"ingest-{kb}.log").open("w"),
                stderr=subprocess.STDOUT,
            )
        statuses = run_traffic(f"http://127.0.0.1:{PORTS['gateway']}", keys, args.seconds)
        time.sleep(20)  # two more scrapes of everything, one more exporter read
        from evaluate import evaluate_all

        report = evaluate_all(f"http://127.0.0.1:{PORTS['prom']}", started, time.time())
        report["traffic"] = dict(sorted(statuses.items()))
        out = ROOT / "docs" / "observability"
        out.mkdir(parents=True, exist_ok=True)
        (out / "local-run.json").write_text(json.dumps(report, indent=2) + "\n")
        subprocess.run(
            [
                sys.executable,
                str(OBS / "render.py"),
                "--prometheus",
                f"http://127.0.0.1:{PORTS['prom']}",
                "--start",
                str(started),
                "--end",
                str(time.time()),
                "--out",
                str(out),
            ],
            check=True,
        )
        print(
            json.dumps(
                {k: report[k] for k in ("alerts_fired_during_run", "alerts_firing", "traffic")}, indent=2
            )
        )
        return 0
    finally:
        for child in reversed(children):  # SIGINT: `genai up` and `genai worker` stop what they started
            child.send_signal(signal.SIGINT)
            try:
                child.wait(timeout=90)
            except subprocess.TimeoutExpired:
                child.kill()
        stop_listeners([PORTS[name] for name in ("gateway", "prefect", "exporter")])


if __name__ == "__main__":
    raise SystemExit(main())
