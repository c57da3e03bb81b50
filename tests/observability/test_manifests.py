"""The Kubernetes side of deployments/observability hangs together without a cluster: every file the
kustomization names exists, every ConfigMap a Deployment mounts is generated here or shipped in
deployments/k8s, the jobs of both scrape configs are the ones the alerts and dashboards read, and
`genai up` prints where each /metrics is."""

from __future__ import annotations

from pathlib import Path

import yaml

from genai.cli.up_metrics import metrics_hint
from genai.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
OBS = ROOT / "deployments" / "observability"


def _docs(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def test_every_file_the_kustomization_names_exists() -> None:
    kustomization = yaml.safe_load((OBS / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        assert (OBS / resource).is_file(), resource
    for generator in kustomization["configMapGenerator"]:
        for entry in generator["files"]:
            assert (OBS / entry.split("=")[-1]).is_file(), entry


def test_mounted_config_maps_exist() -> None:
    kustomization = yaml.safe_load((OBS / "kustomization.yaml").read_text())
    generated = {generator["name"] for generator in kustomization["configMapGenerator"]}
    shipped = {
        doc["metadata"]["name"]
        for path in (ROOT / "deployments" / "k8s").glob("*.yaml")
        for doc in _docs(path)
        if doc["kind"] == "ConfigMap"
    }
    for resource in kustomization["resources"]:
        for doc in _docs(OBS / resource):
            assert doc["metadata"]["namespace"] == "genai"
            if doc["kind"] != "Deployment":
                continue
            for volume in doc["spec"]["template"]["spec"].get("volumes", []):
                if "configMap" in volume:
                    assert volume["configMap"]["name"] in generated | shipped, volume


def test_both_scrape_configs_have_the_jobs_the_rules_read() -> None:
    for name in ("prometheus.yml", "prometheus-k8s.yml"):
        config = yaml.safe_load((OBS / "prometheus" / name).read_text())
        jobs = {job["job_name"] for job in config["scrape_configs"]}
        assert jobs == {"gateway", "vllm", "prefect", "platform"}, name
        assert config["rule_files"] == ["alerts.yml"]


def test_genai_up_prints_every_metrics_endpoint(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {
            "home": tmp_path,
            "gateway": {
                "port": 8100,
                "upstreams": {
                    "pool": {"kind": "openai", "workers": ["http://10.0.0.5:8000/", "http://10.0.0.6:8000"]},
                    "gpu": {"kind": "openai", "dns": "vllm-tiny.genai.svc.cluster.local:8000"},
                    "vendor": {"kind": "anthropic", "base_url": "https://api.example.invalid"},
                },
            },
        }
    )
    hint = metrics_hint(settings, gateway=True, exporter_port=9464)
    assert "http://127.0.0.1:8100/metrics" in hint
    assert "http://10.0.0.5:8000/metrics" in hint and "http://10.0.0.6:8000/metrics" in hint
    assert "vllm-tiny.genai.svc.cluster.local:8000" in hint
    assert "example.invalid" not in hint  # a hosted vendor serves no /metrics
    assert "http://127.0.0.1:9464/metrics" in hint
    assert "http://127.0.0.1:4200/api/metrics" in hint
    assert "--config.file=deployments/observability/prometheus/prometheus.yml" in hint
    assert "kubectl apply -k deployments/observability" in hint
    quiet = metrics_hint(settings, gateway=False, exporter_port=None)
    assert "8100" not in quiet and "9464" not in quiet
