"""Loads the fixture plugins under tests/fixtures/ for the whole suite, and makes skipped tests fail the
run when GENAI_REQUIRE_SERVICES=1 (CI sets it: an integration test that skips there proves nothing)."""

from __future__ import annotations

import os

import pytest

pytest_plugins = [
    "tests.fixtures.environment",
    "tests.fixtures.models",
    "tests.fixtures.services",
    "tests.fixtures.prefect",
    "tests.fixtures.ingest",
    "tests.fixtures.gateway",
    "tests.fixtures.fake_upstreams",
    "tests.fixtures.vllm",
]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("GENAI_REQUIRE_SERVICES") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped:
        names = ", ".join(report.nodeid for report in skipped[:10])
        print(f"\nGENAI_REQUIRE_SERVICES=1 but {len(skipped)} test(s) skipped: {names}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
