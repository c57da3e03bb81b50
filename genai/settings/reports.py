"""Settings of the cost-report flow (flows/cost_report.py): reserved until the flow lands."""

from __future__ import annotations

from genai.settings.placeholder import PlaceholderSection


class ReportsSettings(PlaceholderSection):
    """Coming: the report period and schedule, the grouping (tenant, key, model), budget alert
    thresholds and where CSV exports are written."""
