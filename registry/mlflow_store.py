"""How the registry talks to MLflow: one client per tracking URI, MLflow's errors in the registry's terms,
paged searches, and a spec as the flat params of its registration run.

mlflow is imported inside the functions: importing it costs about a second, and the CLI's help, the
kernel and a gateway with no registry never pay it.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from registry.errors import RegistryError, RegistryUnavailableError
from registry.spec import ModelSpec

if TYPE_CHECKING:
    from mlflow import MlflowClient

T = TypeVar("T")
PAGE_SIZE = 1000  # the most a registered-model search may ask for in one page (MLflow's threshold)
# MLflow error codes that mean "the store could not answer now", not "the request was wrong".
_UNAVAILABLE_CODES = frozenset(
    {"INTERNAL_ERROR", "TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED", "ABORTED", "DEADLINE_EXCEEDED"}
)
# A REST store retries a dead server for about two minutes by default; the gateway polls every 2 s and
# keeps its last snapshot on failure, so failing fast is what it needs. setdefault: an operator's own
# values win.
_HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    # Against a server MLflow prints each run's UI link on stdout, which would break `--json` output.
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}


def is_http(uri: str) -> bool:
    return urlsplit(uri).scheme in {"http", "https"}


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, else None."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri.removeprefix("sqlite:///").split("?", 1)[0])


def make_client(tracking_uri: str) -> MlflowClient:
    """An ``MlflowClient`` whose tracking and registry stores are both ``tracking_uri``. MLflow caches the
    store behind it per URI, so a second client on the same URI costs nothing."""
    with translated(RegistryError):
        from mlflow import MlflowClient

        if is_http(tracking_uri):
            for key, value in _HTTP_DEFAULTS.items():
                os.environ.setdefault(key, value)
        path = sqlite_path(tracking_uri)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def error_code(error: BaseException) -> str | None:
    code = getattr(error, "error_code", None)
    return str(code) if code is not None else None


@contextlib.contextmanager
def translated(not_found: type[RegistryError], what: str = "") -> Iterator[None]:
    """Run a block of MLflow calls, raising the registry's errors instead of MLflow's:
    RESOURCE_DOES_NOT_EXIST -> ``not_found(what)``; a store that cannot answer (connection refused, the
    database locked or unreadable, a server error) -> ``RegistryUnavailableError``; any other MLflow error
    -> ``RegistryError`` with MLflow's message."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except RegistryError:
        raise
    except MlflowException as error:
        code = error_code(error)
        if code == "RESOURCE_DOES_NOT_EXIST":
            raise not_found(what or error.message) from error
        if code in _UNAVAILABLE_CODES:
            raise RegistryUnavailableError(f"the MLflow registry did not answer: {error.message}") from error
        raise RegistryError(f"MLflow refused the request: {error.message}") from error
    except OSError as error:  # connection refused, timeouts (requests' errors are OSErrors), file access
        raise RegistryUnavailableError(f"the MLflow registry cannot be reached: {error}") from error
    except Exception as error:
        # SQLAlchemy's errors (a database that cannot be opened or migrated) are not MlflowExceptions
        if type(error).__module__.startswith("sqlalchemy"):
            raise RegistryUnavailableError(f"the MLflow database cannot be used: {error}") from error
        raise


def paged(search: Callable[..., Any], **kwargs: Any) -> list[Any]:
    """Every result of an MLflow search, page after page (MLflow returns a PagedList with a ``token``)."""
    results: list[Any] = []
    token: str | None = None
    while True:
        page = search(max_results=PAGE_SIZE, page_token=token, **kwargs)
        results.extend(page)
        token = page.token
        if not token:
            return results


def spec_params(spec: ModelSpec) -> dict[str, str]:
    """The spec's fields as flat MLflow params (``price.input_per_1m``, ``retrieval.k``...): lists as JSON,
    None and empty values left out, so the run's params page reads like the spec."""
    flat: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else key, inner)
        elif value is None or value == "" or value == []:
            return
        elif isinstance(value, list):
            flat[prefix] = json.dumps(value)
        else:
            flat[prefix] = str(value)

    walk("", spec.model_dump(mode="json"))
    return flat


def artifact_root(tracking_uri: str, artifact_location: str | None) -> str | None:
    """Where registration runs keep artifacts: the configured location, else ``mlartifacts`` beside a
    SQLite database, else None (a tracking server chooses; a database elsewhere falls back to MLflow's
    ``./mlruns``, so production sets ``registry.artifact_location``)."""
    if artifact_location:
        return artifact_location
    path = sqlite_path(tracking_uri)
    if path is not None:
        return str(path.parent / "mlartifacts")
    return None


def experiment_id(client: MlflowClient, name: str, root: str | None) -> str:
    """The id of experiment ``name``, created (its artifacts under ``root/name``) if it does not exist."""
    from mlflow.exceptions import MlflowException

    existing = client.get_experiment_by_name(name)
    if existing is not None:
        return str(existing.experiment_id)
    location = None if root is None else f"{root.rstrip('/')}/{name}"
    try:
        return str(client.create_experiment(name, artifact_location=location))
    except MlflowException as error:
        if error_code(error) != "RESOURCE_ALREADY_EXISTS":
            raise
        again = client.get_experiment_by_name(name)  # another process created it first
        assert again is not None
        return str(again.experiment_id)
