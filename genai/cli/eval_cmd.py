"""`genai eval run --set FILE --model REF ...`: evaluate model versions on an eval set, then print the
candidates side by side.

The command runs the evaluation flow (so the run, its MLflow runs and its artifacts are the same as from
the Prefect UI). The candidates answer through a gateway: ``--gateway URL``, else the one that answers at
``gateway.host:gateway.port``, else a temporary gateway this command starts in its own process (and stops
when it is done). The eval set and the model references are checked before anything starts, so a bad row
or an unknown model is a message saying what to fix, not a failed run.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import typer

from genai.cli.errors import fail, load_settings

if TYPE_CHECKING:
    import uvicorn

    from genai.settings import Settings

app = typer.Typer(help="Evaluate registered model versions on eval sets.", no_args_is_help=True)


@app.command("run")
def run(
    eval_set: Path = typer.Option(
        ..., "--set", help="The eval set (JSONL: question, reference answer, ...)."
    ),
    models: list[str] = typer.Option(
        [],
        "--model",
        help="NAME, NAME@challenger or NAME/VERSION (repeatable); default: every champion and challenger.",
    ),
    gateway: str | None = typer.Option(
        None, "--gateway", help="Gateway URL; default: gateway.host:port, else a temporary one."
    ),
    concurrency: int | None = typer.Option(
        None, "--concurrency", min=1, max=256, help="Requests in flight per candidate."
    ),
    max_tokens: int = typer.Option(64, "--max-tokens", min=1, max=8192, help="Most tokens per answer."),
    promote: bool = typer.Option(
        False, "--promote", help="Then run each evaluated challenger through the gates."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Evaluate model versions on an eval set through the gateway; log each to MLflow."""
    settings = load_settings()
    checked_path = _check_set(eval_set)
    _check_models(settings, models)
    from genai.orchestration.prefect_env import configure_prefect

    configure_prefect(settings, quiet=True)
    from flows.evaluate import evaluate

    with GatewayFor(settings, gateway) as url:
        try:
            result = evaluate(
                eval_set=str(checked_path),
                models=models,
                gateway_url=url,
                concurrency=concurrency or 0,
                max_tokens=max_tokens,
                promote=promote,
            )
        except Exception as error:  # the flow's own log holds the details
            fail(f"evaluation failed: {error}", code=1)
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
    else:
        _print(result)


def _check_set(path: Path) -> Path:
    from genai.evaluation.eval_set import EvalSetError, load_eval_set

    if not path.is_file():
        fail(f"eval set {path} does not exist; give a JSONL file with one example per line")
    try:
        return load_eval_set(path).path.resolve()
    except EvalSetError as error:
        fail(error.report())


def _check_models(settings: Settings, refs: list[str]) -> None:
    from registry.client import ModelRegistry
    from registry.errors import RegistryError

    registry = ModelRegistry.from_settings(settings)
    problems = []
    for ref in refs:
        try:
            registry.resolve(ref)
        except RegistryError as error:
            problems.append(str(error))
    if problems:
        fail("; ".join(problems) + " (genai models list shows what is registered)")


class GatewayFor:
    """The gateway URL to use: the one given, the one running, or a temporary one in this process."""

    def __init__(self, settings: Settings, url: str | None) -> None:
        self.settings, self.url = settings, url
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    def __enter__(self) -> str:
        from flows.evaluate import gateway_base_url

        if self.url:
            return self.url.rstrip("/")
        running = gateway_base_url(self.settings)
        if _healthy(running):
            return running
        return self._start()

    def _start(self) -> str:
        import uvicorn

        from gateway.app import create_app
        from gateway.server import server_config

        port = _free_port()
        config = server_config(
            create_app(self.settings),
            self.settings.gateway,
            host="127.0.0.1",
            port=port,
            access_log=False,
            log_level="warning",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="eval-gateway", daemon=True)
        address = f"{self.settings.gateway.host}:{self.settings.gateway.port}"
        typer.echo(f"no gateway answers at {address}: starting a temporary one", err=True)
        self.thread.start()
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while not _healthy(url):
            if not self.thread.is_alive() or time.monotonic() > deadline:
                fail(
                    "the temporary gateway did not start; start one with `genai gateway` or pass --gateway", 1
                )
            time.sleep(0.1)
        return url

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=30)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _print(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    candidates = result["candidates"]
    if not candidates:
        console.print("nothing evaluated: no registered model has a champion or a challenger")
        return
    table = Table(title=f"{Path(result['eval_set']).name} (set {result['sha256'][:12]})")
    table.add_column("")
    for row in candidates:
        table.add_column(
            row["candidate"] + (f"\n{row['aliases']}" if row["aliases"] else ""), justify="right"
        )
    numbers = [
        ("hit@k", "hit_at_k"),
        ("MRR", "mrr"),
        ("nDCG@k", "ndcg_at_k"),
        ("exact match", "exact_match"),
        ("token F1", "token_f1"),
        ("ROUGE-L", "rouge_l"),
        ("similarity", "embedding_similarity"),
        ("groundedness", "groundedness"),
    ]
    for label, key in numbers:
        table.add_row(label, *(f"{row[key]:.3f}" for row in candidates))
    table.add_row(
        "p50 / p95 ms", *(f"{r['latency_p50_ms']:.0f} / {r['latency_p95_ms']:.0f}" for r in candidates)
    )
    table.add_row("cost / request", *(f"{r['cost_per_request']:.6f}" for r in candidates))
    table.add_row("errors", *(str(r["errors"]) for r in candidates))
    table.add_row("output check", *(r["output_check"] for r in candidates))
    table.add_row("MLflow run", *(r["mlflow_run_id"][:12] for r in candidates))
    console.print(table)
    for promotion in result.get("promotions") or []:
        verdict = "[green]promoted[/]" if promotion["decision"] == "promoted" else "[yellow]refused[/]"
        console.print(f"{promotion['model']}/{promotion['version']}: {verdict}: {promotion['reason']}")
