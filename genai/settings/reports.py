"""Settings of the cost report (flows/cost_report.py, `genai report cost`): where reports are written, how
long the top lists are, the budget alert thresholds and webhook, the ledger checks' bounds, and the
self-hosted GPU pools whose hours the report shares out by tokens.

Example (genai.yaml)::

    reports:
      folder: /srv/genai/reports        # default: <home>/reports
      top_n: 10
      alert_thresholds: [50, 80, 100]   # percent of a tenant's budget
      webhook_url: http://127.0.0.1:9000/hooks/budget
      gpu_pools:
        vllm-a100: {upstream: vllm, gpus: 2, gpu_hour_usd: 2.40}
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from genai.settings.section import SettingsSection


class GpuPool(SettingsSection):
    """Self-hosted GPU workers: their GPUs cost by the hour whether busy or not, so the report shares the
    period's GPU hours out among the requests they served, by token count."""

    upstream: str = Field(description="The gateway upstream whose requests these GPUs serve (ledger column).")
    gpus: int = Field(1, ge=1, description="GPUs of the whole pool, every worker together.")
    gpu_hour_usd: float = Field(ge=0, description="Price of one GPU for one hour.")


class ReportsSettings(SettingsSection):
    """The cost report: output folder, list lengths, budget alerts, ledger checks and GPU pools."""

    folder: Path | None = Field(None, description="Where reports (PNG, CSV, JSON) go; default home/reports.")
    top_n: int = Field(10, ge=1, le=1000, description="Rows of the top spenders and most expensive requests.")
    alert_thresholds: list[int] = Field(
        default_factory=lambda: [50, 80, 100], description="Percent of a tenant's budget that raise an alert."
    )
    webhook_url: str | None = Field(None, description="POST each budget alert here (JSON); none: events only")
    webhook_timeout_seconds: float = Field(5.0, gt=0, le=120)
    gap_seconds: float = Field(
        600.0, gt=0, description="A longer silence between two ledger records in a busy hour fails the check."
    )
    busy_requests_per_hour: int = Field(
        60, ge=1, description="An hour with at least this many records is busy (gaps there are suspicious)."
    )
    gpu_pools: dict[str, GpuPool] = Field(default_factory=dict, description="Name -> self-hosted GPU pool.")

    @field_validator("alert_thresholds")
    @classmethod
    def _sorted_percentages(cls, value: list[int]) -> list[int]:
        if any(not 0 < threshold <= 1000 for threshold in value):
            raise ValueError("alert thresholds are percentages of the budget, 1 to 1000")
        return sorted(set(value))
