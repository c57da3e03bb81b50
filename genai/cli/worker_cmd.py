"""`genai worker --model DIR|tiny --port N`: run a vLLM OpenAI-compatible server in the foreground.

The gateway routes to workers like this one (``gateway.upstreams.NAME.workers: [http://HOST:PORT]``).
Arguments after ``--`` go to vLLM unchanged, e.g. ``genai worker --model tiny --port 8001 -- --seed 1``.
"""

from __future__ import annotations

import signal
from types import FrameType
from typing import TYPE_CHECKING

import typer

from genai.cli.errors import fail, load_settings

if TYPE_CHECKING:
    from genai.llm.worker import WorkerProcess


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _serve_until_interrupted(worker: WorkerProcess, ready_timeout: float) -> int:
    """Wait for readiness, then for the server's exit or Ctrl-C; returns the exit code to use."""
    from genai.llm.worker import WorkerStartError

    # SIGTERM (e.g. from a process supervisor) shuts the worker down like Ctrl-C does.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        worker.wait_ready(ready_timeout)
        typer.echo(f"vLLM serves {worker.served_model_name!r} on {worker.url}/v1  (Ctrl-C stops it)")
        assert worker.process is not None
        code = worker.process.wait()
        typer.secho(
            f"vLLM exited with code {code}; log: {worker.config.log_file}", err=True, fg=typer.colors.RED
        )
        return 1
    except WorkerStartError as error:
        typer.secho(f"error: {error}", err=True, fg=typer.colors.RED)
        return 1
    except KeyboardInterrupt:
        typer.echo("stopping vLLM...")
        return 0
    finally:
        worker.stop()


def worker(
    model: str = typer.Option(
        ...,
        "--model",
        help="A model directory, a hub id already in the local "
        "cache, or 'tiny' (an offline tiny model built under GENAI_HOME/models).",
    ),
    port: int = typer.Option(..., "--port", min=1, max=65535, help="Port to serve on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (0.0.0.0 for other machines)."),
    served_model_name: str | None = typer.Option(
        None, "--served-model-name", help="Model name clients send (default: 'tiny' or the model path)."
    ),
    max_model_len: int = typer.Option(512, "--max-model-len", min=16, help="Longest prompt + completion."),
    device: str = typer.Option("cpu", "--device", help="cpu or gpu."),
    task: str = typer.Option(
        "generate", "--task", help="generate (chat and completions) or embed (/v1/embeddings, pooled)."
    ),
    cpu_bind: str = typer.Option(
        "auto",
        "--cpu-bind",
        help="CPU only: cores for vLLM's compute threads (VLLM_CPU_OMP_THREADS_BIND), "
        "e.g. 0 or 2-3; give each worker on one machine its own cores.",
    ),
    kv_cache_gib: int = typer.Option(1, "--kv-cache-gib", min=1, help="CPU only: KV cache size in GiB."),
    gpu_memory_utilization: float = typer.Option(
        0.9, "--gpu-memory-utilization", min=0.05, max=1.0, help="GPU only: share of GPU memory vLLM takes."
    ),
    tensor_parallel_size: int = typer.Option(
        1, "--tensor-parallel-size", min=1, help="GPU only: GPUs one model is split over."
    ),
    ready_timeout: float = typer.Option(
        600.0, "--ready-timeout", min=1, help="Seconds to wait for readiness."
    ),
    vllm_args: list[str] | None = typer.Argument(None, help="Extra vLLM arguments, after --."),
) -> None:
    """Serve a model with vLLM (OpenAI-compatible API) until Ctrl-C."""
    if device not in ("cpu", "gpu"):
        fail(f"--device takes cpu or gpu, got {device!r}")
    if task not in ("generate", "embed"):
        fail(f"--task takes generate or embed, got {task!r}")
    settings = load_settings()
    from genai.llm.worker import VllmNotInstalledError, default_log_file, start_vllm_worker

    log_file = default_log_file(settings.home, served_model_name or model.rstrip("/").split("/")[-1], port)
    typer.echo(f"starting vLLM for {model} on http://{host}:{port} (log: {log_file})")
    try:
        process = start_vllm_worker(
            model,
            port,
            served_model_name,
            host=host,
            max_model_len=max_model_len,
            device="gpu" if device == "gpu" else "cpu",
            cpu_bind=cpu_bind,
            kv_cache_gib=kv_cache_gib,
            gpu_memory_utilization=gpu_memory_utilization,
            tensor_parallel_size=tensor_parallel_size,
            task="embed" if task == "embed" else "generate",
            extra_args=vllm_args or [],
            log_file=log_file,
            home=settings.home,
        )
    except VllmNotInstalledError as error:
        fail(str(error), code=1)
    raise typer.Exit(_serve_until_interrupted(process, ready_timeout))
