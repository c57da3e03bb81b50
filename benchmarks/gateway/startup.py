"""How long `genai gateway` takes from launch until /healthz answers, and `genai --help` until it exits.

Each is started ``--runs`` times in a fresh process (imports cold only the first time the OS caches them,
as on a real host); the table gives the median and the slowest. The gateway routes no models here: what is
measured is the process start, the imports and the app, not an upstream.
Usage: ``python benchmarks/gateway/startup.py [--runs 5]``.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gateway_startup(home: str) -> float:
    port = free_port()
    env = {**os.environ, "GENAI_HOME": home}
    started = time.monotonic()
    command = [sys.executable, "-m", "genai.cli.main", "gateway", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the gateway exited with code {process.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                time.sleep(0.02)
    finally:
        process.terminate()
        process.wait(timeout=30)


def help_time() -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "genai.cli.main", "--help"], check=True, capture_output=True)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="bench-startup-")
    for name, measure in (
        ("genai --help", help_time),
        ("genai gateway -> /healthz", lambda: gateway_startup(home)),
    ):
        times = [measure() for _ in range(args.runs)]
        median, slowest = statistics.median(times), max(times)
        print(f"{name:<28} median {median:.2f} s, slowest {slowest:.2f} s ({args.runs} runs)")


if __name__ == "__main__":
    main()
