"""What a cost report holds, as pydantic models (the CLI prints them as JSON; the flow renders them)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Totals(BaseModel):
    """Sums over every ledger record of a period (and tenant filter)."""

    requests: int = 0
    priced_requests: int = 0
    unpriced_requests: int = 0  # cost_usd NULL: no price, or a priced request whose usage is unknown
    cost_usd: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    errors: int = 0  # status >= 400
    error_cost_usd: float = 0.0
    retried: int = 0  # more than one upstream attempt, or an answer asked again (response_retries)
    retry_cost_usd: float = 0.0
    cache_hits: int = 0
    saved_tokens: int = 0
    saved_cost_usd: float = 0.0


class Group(BaseModel):
    """One value of a breakdown (a tenant, a key, a model, ...) and what its requests used."""

    value: str | None
    requests: int
    succeeded: int
    errors: int
    unpriced: int
    cost_usd: float
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    previous_cost_usd: float | None = None  # the same value in the previous period (None: absent there)
    change_pct: float | None = None

    @property
    def cost_per_1k_requests(self) -> float:
        return 1000.0 * self.cost_usd / self.requests if self.requests else 0.0


class ExpensiveRequest(BaseModel):
    request_id: str
    created_at: datetime
    tenant: str | None
    key_prefix: str | None
    model: str | None
    model_version: str | None
    status: int
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_usd: float


class UnitCost(BaseModel):
    """A model version's unit costs: per 1,000 requests, and per correct answer (the period's spend over
    its successful requests times the correct rate of the version's latest evaluation)."""

    model_version: str
    requests: int
    succeeded: int
    cost_usd: float
    per_1k_requests: float
    correct_rate: float | None = None
    eval_run_id: str | None = None
    per_correct_answer: float | None = None


class EvalAccuracy(BaseModel):
    """The latest evaluation of one model version (read from the registry by the flow, passed in)."""

    correct: int
    n: int
    run_id: str = ""

    @property
    def rate(self) -> float:
        return self.correct / self.n if self.n else 0.0


class BudgetLine(BaseModel):
    """A budget (a tenant's from the settings, a key's from api_keys) and its spend in the budget period
    that contains the report's end, up to that end."""

    scope: str  # tenant or key
    name: str
    tenant: str | None
    budget_usd: float
    budget_period: str
    spent_usd: float
    percent: float
    forecast_usd: float | None = None  # linear to the budget period's end from its daily run rate


class GpuShare(BaseModel):
    """A GPU pool's hours in the period, shared among tenants and models by the tokens they used."""

    pool: str
    upstream: str
    tenant: str | None
    model: str | None
    tokens: int
    share: float
    gpu_hours: float
    cost_usd: float


class DailyPoint(BaseModel):
    day: str
    requests: int
    cost_usd: float


class Forecast(BaseModel):
    month: str
    month_to_date_usd: float
    days_elapsed: float
    days_in_month: float
    forecast_usd: float
    method: str = "linear: month-to-date spend / days elapsed x days in the month"


class CostReport(BaseModel):
    """Everything the report says about one period."""

    period: str
    kind: str
    start: datetime
    end: datetime
    generated_at: datetime
    tenants: list[str] = Field(default_factory=list)  # the filter; empty: every tenant
    totals: Totals
    previous_period: str
    previous: Totals
    change_pct: float | None
    cost_p50_usd: float | None
    cost_p95_usd: float | None
    percentile_method: str
    breakdowns: dict[str, list[Group]]
    top_tenants: list[Group]
    top_keys: list[Group]
    expensive: list[ExpensiveRequest]
    unit_costs: list[UnitCost]
    unpriced: list[Group]  # models with records of unknown cost, never counted as 0 silently
    budgets: list[BudgetLine]
    gpu: list[GpuShare]
    daily: list[DailyPoint]
    forecast: Forecast
    quality_failures: list[str] = Field(default_factory=list)  # the ledger suite's findings
    files: dict[str, str] = Field(default_factory=dict)  # chart, CSV, JSON written for this report
