"""What a dashboard and a panel are, for the panel lists of gateway.py, vllm.py and flows.py.

A panel is a title, a kind (timeseries or stat), its queries as (PromQL, legend), a unit and a width out of
Grafana's 24 columns. Grafana's own variables ``$__rate_interval`` and ``$__range`` are used as Grafana
defines them (the renderer substitutes them the same way).
"""

from __future__ import annotations

from dataclasses import dataclass, field

RATE = "$__rate_interval"


@dataclass(frozen=True)
class Panel:
    title: str
    kind: str  # timeseries | stat
    queries: tuple[tuple[str, str], ...]
    unit: str = "short"
    width: int = 8
    description: str = ""
    stack: bool = False


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    panels: tuple[Panel, ...] = field(default_factory=tuple)


def q(expr: str, legend: str = "") -> tuple[str, str]:
    """One query of a panel and its legend (Grafana's {{label}} templates)."""
    return (expr, legend)


def p(quantile: float, metric: str, by: str) -> str:
    """The ``quantile`` of histogram ``metric`` (its _bucket series) per ``by`` label."""
    return f"histogram_quantile({quantile}, sum by (le, {by}) (rate({metric}_bucket[{RATE}])))"
