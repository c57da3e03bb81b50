"""Where a report's files go, and writing them: ``<reports.folder or home/reports>/<kind>/<period>/``
holds ``cost-report.md``, ``.csv``, ``.json`` and ``.png`` (a tenant filter gets a folder of its own)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from genai.reports.chart import write_chart
from genai.reports.export import write_csv
from genai.reports.model import CostReport
from genai.reports.render import to_markdown
from genai.settings.reports import ReportsSettings


def report_folder(
    reports: ReportsSettings, home: Path, kind: str, label: str, tenants: Sequence[str] = ()
) -> Path:
    base = reports.folder or home / "reports"
    folder = base / kind / label
    return folder / ("tenants-" + "-".join(sorted(tenants))) if tenants else folder


def write_report_files(report: CostReport, folder: Path, top: int, chart: bool = True) -> CostReport:
    """Write the chart, the CSV, the markdown and the JSON; the report with their paths in ``files``."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"csv": str(write_csv(report, folder / "cost-report.csv"))}
    if chart:
        files["chart"] = str(write_chart(report, folder / "cost-report.png", top))
    files["markdown"] = str(folder / "cost-report.md")
    files["json"] = str(folder / "cost-report.json")
    written = report.model_copy(update={"files": files})
    (folder / "cost-report.md").write_text(to_markdown(written, top, files.get("chart")), encoding="utf-8")
    (folder / "cost-report.json").write_text(written.model_dump_json(indent=2), encoding="utf-8")
    return written
