"""The shipped Prometheus configuration and alert rules, checked by Prometheus's own promtool (Debian's
`prometheus` package; .ci/run installs it): both scrape configs load, the rules parse, and the rules'
unit tests (alerts_test.yml: each alert fires on what should fire it and not just below) pass. Also the
Grafana dashboards are what build.py makes of the panel lists, and the provisioning files name them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.fixtures.services import service_unavailable

OBS = Path(__file__).resolve().parents[2] / "deployments" / "observability"
PROM = OBS / "prometheus"


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        service_unavailable("promtool is not installed (apt-get install prometheus)")
    return str(path)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus-k8s.yml"])
def test_promtool_accepts_the_scrape_config(promtool: str, config: str) -> None:
    result = _run(promtool, "check", "config", str(PROM / config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "13 rules found" in result.stdout + result.stderr  # the config really loads alerts.yml


def test_promtool_accepts_the_rules(promtool: str) -> None:
    result = _run(promtool, "check", "rules", str(PROM / "alerts.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_unit_tests_pass(promtool: str) -> None:
    result = _run(promtool, "test", "rules", str(PROM / "alerts_test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_would_catch_a_broken_threshold(promtool: str, tmp_path: Path) -> None:
    """The unit tests are not vacuous: with the error-rate threshold raised they fail."""
    (tmp_path / "alerts.yml").write_text((PROM / "alerts.yml").read_text().replace("> 0.05", "> 0.5"))
    (tmp_path / "alerts_test.yml").write_text((PROM / "alerts_test.yml").read_text())
    result = _run(promtool, "test", "rules", str(tmp_path / "alerts_test.yml"))
    assert result.returncode != 0
    assert "GatewayHighErrorRate" in result.stdout + result.stderr


def test_every_alert_has_a_unit_test() -> None:
    rules = yaml.safe_load((PROM / "alerts.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    tests = yaml.safe_load((PROM / "alerts_test.yml").read_text())["tests"]
    tested = {case["alertname"] for test in tests for case in test["alert_rule_test"] if case["exp_alerts"]}
    assert alerts == tested


def test_the_dashboard_json_is_what_build_makes() -> None:
    result = _run(sys.executable, str(OBS / "grafana" / "build.py"), "--check")
    assert result.returncode == 0, result.stderr


def test_provisioning_names_the_datasource_the_dashboards_use() -> None:
    datasource = yaml.safe_load(
        (OBS / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    uids = {source["uid"] for source in datasource["datasources"]}
    for path in (OBS / "grafana" / "dashboards").glob("*.json"):
        for panel in json.loads(path.read_text())["panels"]:
            assert panel["datasource"]["uid"] in uids, (path.name, panel["title"])
    provider = yaml.safe_load((OBS / "grafana" / "provisioning" / "dashboards" / "genai.yml").read_text())
    assert provider["providers"][0]["type"] == "file"
