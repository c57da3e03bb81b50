"""The one-host stack (deployments/compose/docker-compose.yaml): Docker Compose v2 itself (`config`, no
daemon needed) accepts the file with and without the gpu profile, it runs every part of the platform, the
settings file it mounts is valid for the platform and names the compose services, and Prometheus scrapes
the jobs the alerts and dashboards read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deployments.tools import ROOT, compose_binary, run

COMPOSE = ROOT / "deployments" / "compose"
STACK = {
    "postgres", "redis", "qdrant", "prefect-server", "prefect-worker", "mlflow", "gateway", "vllm",
    "prometheus", "grafana",
}  # fmt: skip


def _config(*profiles: str) -> dict[str, Any]:
    command = [compose_binary(), "-f", str(COMPOSE / "docker-compose.yaml")]
    for profile in profiles:
        command += ["--profile", profile]
    done = run([*command, "config", "--format", "json"])
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = json.loads(done.stdout)
    return config


def test_compose_accepts_the_file_with_every_part_of_the_stack() -> None:
    services = set(_config("gpu")["services"])
    assert services >= STACK
    assert set(_config()["services"]) == services - {"vllm", "vllm-model"}  # no GPU: no vLLM


def test_compose_refuses_a_broken_file(tmp_path: Path) -> None:
    """`config` means something: an unknown key fails it."""
    broken = yaml.safe_load((COMPOSE / "docker-compose.yaml").read_text())
    broken["services"]["gateway"]["helthcheck"] = {}
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(broken))
    assert run([compose_binary(), "-f", str(tmp_path / "broken.yaml"), "config", "-q"]).returncode != 0


def test_platform_services_read_the_mounted_settings_and_their_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from genai.settings import Settings

    services = _config("gpu")["services"]
    for name in ("gateway", "prefect-worker", "mlflow", "metrics"):
        service = services[name]
        mount = next(v for v in service["volumes"] if v["target"] == service["environment"]["GENAI_CONFIG"])
        assert Path(mount["source"]) == COMPOSE / "genai.yaml" and mount["read_only"]
        assert service["environment"]["GENAI_DATABASE_URL"].endswith("@postgres:5432/genai")
    monkeypatch.setenv("GENAI_CONFIG", str(COMPOSE / "genai.yaml"))
    monkeypatch.setenv("GENAI_DATABASE_URL", services["gateway"]["environment"]["GENAI_DATABASE_URL"])
    settings = Settings()
    hosts = {
        settings.qdrant.url: "qdrant",
        settings.mlflow_tracking_uri: "mlflow",
        settings.prefect.api_url: "prefect-server",
        settings.batch.gateway_url: "gateway",
    }
    for url, service_name in hosts.items():
        assert url is not None and f"//{service_name}:" in url
        assert service_name in services
    assert settings.gateway.upstreams["vllm"].dns == "vllm:8000"


def test_prometheus_scrapes_the_jobs_the_rules_read() -> None:
    config = yaml.safe_load((COMPOSE / "prometheus.yml").read_text())
    assert {job["job_name"] for job in config["scrape_configs"]} == {"gateway", "vllm", "prefect", "platform"}
    services = _config("gpu")["services"]
    mounted = {
        v["target"]: Path(v["source"]) for v in services["prometheus"]["volumes"] if v["type"] == "bind"
    }
    assert mounted["/etc/prometheus/alerts.yml"] == ROOT / "deployments/observability/prometheus/alerts.yml"
    assert config["rule_files"] == ["alerts.yml"]


def test_health_checks_ask_the_paths_the_servers_answer() -> None:
    services = _config("gpu")["services"]
    assert "/healthz" in " ".join(services["gateway"]["healthcheck"]["test"])
    assert "/health'" in " ".join(services["vllm"]["healthcheck"]["test"])
    assert "/api/health" in " ".join(services["prefect-server"]["healthcheck"]["test"])
    assert services["vllm"]["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]


@pytest.mark.slow
def test_the_deploy_service_registers_the_process_pool_deployments(prefect_api_url: str) -> None:
    """The prefect-deploy service's own command, run against a real Prefect server from the repository
    root (the image's working directory holds the same files): every process-pool deployment of
    deployments/prefect.yaml is registered, and the command succeeds although the Kubernetes pool's
    deployments have no pool on one host."""
    import os
    import subprocess
    import sys

    from tests.orchestration.test_orchestration import api

    service = _config()["services"]["prefect-deploy"]
    assert service["entrypoint"] == ["sh", "-c"]
    command = service["command"][0].replace("$$", "$")  # compose's escape for a literal $
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PREFECT_API_URL": prefect_api_url,
        "GENAI_PROJECT_DIR": str(ROOT),
        "GENAI_IMAGE": "genai-platform:0.1.0",
    }
    done = subprocess.run(
        ["sh", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    plan = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text())["deployments"]
    registered = {
        (d["work_pool_name"], d["name"]) for d in api(prefect_api_url, "POST", "/deployments/filter", {})
    }
    for deployment in plan:
        if deployment["work_pool"]["name"] == "genai-process":
            assert ("genai-process", deployment["name"]) in registered, deployment["name"]
