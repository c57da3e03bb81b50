"""Settings of the model registry (registry/), its evaluation and its promotion gates.

MLflow's store itself is the top-level ``mlflow_tracking_uri`` (SQLite under ``home`` by default). This
section says how the gateway follows the registry (``poll_seconds``), which share of a model's traffic
goes to its challenger (``canary``), how evaluations run (``evaluation``) and what a challenger must show
before it becomes champion (``gates``).

Example (genai.yaml)::

    registry:
      poll_seconds: 2
      canary: {qa: 0.1}          # 10% of qa's users get qa@challenger, the same users every time
      gates:
        min_scores: {token_f1: 0.3, hit_at_k: 0.5}
        regression_metric: token_f1
        tolerance: 0.02
        max_p95_latency_ms: 2000
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from genai.settings.section import SettingsSection


class GateSettings(SettingsSection):
    """What a candidate version must show on an eval set before its aliases move."""

    min_scores: dict[str, float] = Field(
        default_factory=lambda: {"token_f1": 0.1},
        description="Metric name -> the least mean score a candidate may have (higher is better).",
    )
    max_error_rate: float = Field(0.05, ge=0, le=1, description="Largest share of examples that errored.")
    regression_metric: str = Field(
        "token_f1", description="The per-example score compared with the champion's on the same eval set."
    )
    tolerance: float = Field(
        0.02,
        ge=0,
        description="The candidate passes if the lower bound of the paired bootstrap confidence interval "
        "of (candidate - champion) is above -tolerance.",
    )
    confidence: float = Field(0.95, gt=0.5, lt=1)
    bootstrap_samples: int = Field(2000, ge=100, le=100_000)
    bootstrap_seed: int = 0
    max_p95_latency_ms: float | None = Field(10_000.0, gt=0, description="None: no latency gate.")
    max_cost_per_request: float | None = Field(None, ge=0, description="USD; None: no cost gate.")


class EvaluationSettings(SettingsSection):
    """How the evaluation flow runs a candidate."""

    concurrency: int = Field(4, ge=1, le=256, description="Requests in flight per candidate.")
    k: int = Field(5, ge=1, le=100, description="Cut-off of hit@k and nDCG@k.")
    request_timeout: float = Field(120.0, gt=0, description="Seconds for one example's request.")
    default_eval_set: Path | None = Field(
        None, description="The set a scheduled run evaluates; None: the sample set for the demo corpus."
    )
    max_p95_latency_ms: float = Field(60_000.0, gt=0, description="Output check: p95 latency bound.")
    max_cost_per_request: float = Field(1.0, ge=0, description="Output check: USD bound per request.")


class RegistrySettings(SettingsSection):
    """The MLflow-backed registry, as the gateway, the flows and the CLI use it."""

    enabled: bool = Field(True, description="Whether the gateway resolves model names through the registry.")
    poll_seconds: float = Field(
        2.0, gt=0, le=60, description="How often a running gateway re-reads the aliases and versions."
    )
    canary: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=dict,
        description="Registered model -> share (0..1) of its users sent to NAME@challenger "
        "(sticky per user).",
    )
    artifact_location: str | None = Field(
        None, description="Where MLflow keeps run artifacts; default: mlartifacts under home."
    )
    ui_host: str = "127.0.0.1"
    ui_port: int = Field(5000, ge=1, le=65535, description="The MLflow UI `genai up` starts.")
    evaluation: EvaluationSettings = Field(default_factory=EvaluationSettings)
    gates: GateSettings = Field(default_factory=GateSettings)
