"""Loggers are named by module (``logging.getLogger(__name__)``), so that a log line says where it came
from and the ``gateway`` logger tree that ``configure_logging`` formats holds every gateway module."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUR_PACKAGES = ("genai", "flows", "tasks", "registry", "gateway")


def _literal_logger_names(source: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "getLogger"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.append(node.args[0].value)
    return names


def test_no_module_of_ours_names_its_logger_by_hand() -> None:
    # Literal names are for other libraries' loggers (e.g. quieting great_expectations); ours use __name__.
    by_hand = [
        f"{path.relative_to(ROOT)}: {name}"
        for package in OUR_PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in _literal_logger_names(path)
        if name.split(".")[0] in OUR_PACKAGES
    ]
    assert by_hand == []


def test_configure_logging_formats_every_gateway_module_and_the_access_line_as_json() -> None:
    code = (
        "import logging, sys\n"
        "from gateway.telemetry.logging import configure_logging, log_exchange\n"
        "configure_logging('INFO', stream=sys.stdout)\n"
        "logging.getLogger('gateway.routing.router').warning('worker %s down', 'w1')\n"
        "log_exchange(request_id='r1', status=200, model='m')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(line["logger"], line["msg"]) for line in lines] == [
        ("gateway.routing.router", "worker w1 down"),
        ("gateway.access", "request"),
    ]
    assert lines[1]["request_id"] == "r1" and lines[1]["status"] == 200
