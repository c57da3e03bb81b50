"""The import layers of pyproject.toml's [tool.importlinter]: they hold, and the kernel contract lists
every package of genai, so that a new one cannot escape it by not being named."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import genai

ROOT = Path(__file__).resolve().parents[2]
TOP_LAYER_PACKAGES = {"genai.cli"}  # the CLI is exempt from the kernel contract; it is the top layer


def _contracts() -> dict[str, dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {contract["name"]: contract for contract in config["tool"]["importlinter"]["contracts"]}


def test_kernel_contract_names_every_package_of_the_kernel() -> None:
    kernel = next(c for name, c in _contracts().items() if name.startswith("The kernel imports"))
    children = {f"genai.{module.name}" for module in pkgutil.iter_modules(genai.__path__)}
    assert children - TOP_LAYER_PACKAGES == set(kernel["source_modules"])


def test_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout
