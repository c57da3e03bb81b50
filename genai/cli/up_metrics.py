"""What `genai up` prints about metrics: every /metrics it knows of (the gateway, the vLLM workers the
gateway settings name, the platform exporter, the Prefect server) and how to start Prometheus and Grafana
with the configuration shipped in deployments/observability."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from genai.settings import Settings

OBSERVABILITY = "deployments/observability"


def metrics_hint(settings: Settings, *, gateway: bool, exporter_port: int | None) -> str:
    """The lines `genai up` prints once everything has started."""
    lines = ["Metrics (Prometheus text format):"]
    if gateway:
        lines.append(f"  gateway:         http://{settings.gateway.host}:{settings.gateway.port}/metrics")
    for name, upstream in sorted(settings.gateway.upstreams.items()):
        # Pools of workers are vLLM servers in this platform; a base_url alone is a hosted vendor,
        # which serves no /metrics of its own.
        for url in upstream.workers:
            lines.append(f"  worker {name}: {url.rstrip('/')}/metrics")
        if upstream.dns:
            lines.append(f"  workers {name}: http://<each address of {upstream.dns}>/metrics")
    if exporter_port is not None:
        lines.append(
            f"  ingestion, flow runs: http://{settings.prefect.host}:{exporter_port}/metrics (genai metrics)"
        )
    prefect = settings.prefect
    lines.append(f"  Prefect server:  http://{prefect.host}:{prefect.port}/api/metrics")
    lines += [
        "Prometheus and Grafana with the shipped configuration (docs/observability.md):",
        f"  prometheus --config.file={OBSERVABILITY}/prometheus/prometheus.yml "
        f"--storage.tsdb.path={settings.home / 'prometheus'}",
        f"  PROMETHEUS_URL=http://127.0.0.1:9090 GENAI_DASHBOARDS=$PWD/{OBSERVABILITY}/grafana/dashboards "
        f"GF_PATHS_PROVISIONING=$PWD/{OBSERVABILITY}/grafana/provisioning grafana-server"
        "  (Grafana, port 3000)",
        f"  Kubernetes: kubectl apply -k {OBSERVABILITY}",
    ]
    return "\n".join(lines)
