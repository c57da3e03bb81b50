"""The registry watcher: re-reads the model registry every ``registry.poll_seconds`` and hands each new
snapshot to the router, so an alias moved anywhere (the CLI, a flow, the MLflow UI, MlflowClient) is served
within a poll or two, with no restart.

Each poll runs in a worker thread (``asyncio.to_thread``): MLflow's client blocks, and its first import
takes seconds, so the event loop and the gateway's start never wait for it (the first poll starts in the
background once the app started). A failed poll (``RegistryUnavailableError`` or anything else) keeps the
last snapshot in place, so the gateway goes on serving its last known routes; the change of state is
logged once (not once per poll) and shown by the gauge ``genai_gateway_registry_up`` and the counter
``genai_gateway_registry_polls_failed_total``.

While the tracking URI is a SQLite file that does not exist yet (the embedded default before anything was
registered), a poll is an empty snapshot and imports nothing: neither MLflow nor ``registry.client``; the
file is never created by the gateway.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlparse

from gateway.telemetry.metrics import REGISTRY_POLLS_FAILED, REGISTRY_UP
from genai.settings.masking import mask_url
from registry.snapshot import RegistrySnapshot

log = logging.getLogger(__name__)

State = Literal["starting", "up", "down", "absent"]
Loader = Callable[[], RegistrySnapshot]


def sqlite_file(tracking_uri: str) -> Path | None:
    """The database file of a ``sqlite:`` tracking URI (None for any other kind of store)."""
    if not tracking_uri.startswith("sqlite:"):
        return None
    path = unquote(urlparse(tracking_uri).path)
    if path in ("", "/", "/:memory:"):
        return None
    # sqlite:///relative/file and sqlite:////absolute/file (SQLAlchemy's convention): one slash less.
    return Path(path[1:])


def shown_uri(tracking_uri: str) -> str:
    """The URI as logs and /readyz show it: a password in it is masked."""
    return mask_url(tracking_uri, "***")


def mlflow_loader(tracking_uri: str) -> Loader:
    """Reads the registry through ``registry.client.ModelRegistry`` (imported on the first poll, in the
    poll's thread)."""
    holder: list[Any] = []

    def load() -> RegistrySnapshot:
        # (registry.mlflow_store bounds a REST store's retries, so a dead server fails a poll in seconds.)
        if not holder:
            from registry.client import ModelRegistry

            holder.append(ModelRegistry(tracking_uri))
        registry = holder[0]
        snapshot: RegistrySnapshot = registry.snapshot()
        return snapshot

    return load


class RegistryWatcher:
    """Polls the registry and calls ``on_snapshot`` (on the event loop) with each snapshot that differs
    from the last one applied."""

    def __init__(
        self,
        tracking_uri: str,
        poll_seconds: float,
        on_snapshot: Callable[[RegistrySnapshot], None],
        *,
        load: Loader | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.shown_uri = shown_uri(tracking_uri)
        self.poll_seconds = poll_seconds
        self._on_snapshot = on_snapshot
        self._load = load or mlflow_loader(tracking_uri)
        self._file = sqlite_file(tracking_uri)
        self.state: State = "starting"
        self.error: str | None = None
        self.polls = 0
        self.snapshot: RegistrySnapshot | None = None
        self._task: asyncio.Task[None] | None = None

    def store_exists(self) -> bool:
        return self._file is None or self._file.exists()

    @property
    def ready(self) -> bool:
        """Whether the first poll finished (succeeded or not), or there is no store to wait for."""
        return self.state != "starting" or not self.store_exists()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="gateway-registry-watch")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await self.poll()
            await asyncio.sleep(max(0.0, self.poll_seconds - (loop.time() - started)))

    async def poll(self) -> None:
        """One poll: read the registry, apply the snapshot if it changed, record the state."""
        self.polls += 1
        if not self.store_exists():
            self._apply(RegistrySnapshot.empty())
            self._set_state("absent", None)
            return
        try:
            snapshot = await asyncio.to_thread(self._load)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            REGISTRY_POLLS_FAILED.inc()
            self._set_state("down", f"{type(error).__name__}: {error}")
            return
        try:
            self._apply(snapshot)
        except Exception:
            # A snapshot the router cannot take is a bug here, not an outage: keep the last one.
            log.exception("registry: could not apply the snapshot read from %s", self.shown_uri)
            return
        self._set_state("up", None)

    def _apply(self, snapshot: RegistrySnapshot) -> None:
        if self.snapshot is not None and self.snapshot.models == snapshot.models:
            return
        self._on_snapshot(snapshot)
        self.snapshot = snapshot

    def _set_state(self, state: State, error: str | None) -> None:
        REGISTRY_UP.labels(registry=self.shown_uri).set(0 if state == "down" else 1)
        previous, self.state, self.error = self.state, state, error
        if state == previous:
            return
        if state == "down":
            kept = "keeping the last snapshot" if self.snapshot is not None else "no snapshot read yet"
            log.warning("registry at %s unreachable (%s): %s", self.shown_uri, kept, error)
        elif state == "up":
            count = len(self.snapshot.models) if self.snapshot else 0
            log.info("registry at %s read: %d registered models", self.shown_uri, count)
        else:
            log.info("registry store %s does not exist yet: no registered models", self._file)

    def status(self) -> dict[str, object]:
        return {
            "tracking_uri": self.shown_uri,
            "state": self.state,
            "error": self.error,
            "polls": self.polls,
            "models": sorted(self.snapshot.models) if self.snapshot else [],
        }
