"""GPU hours of self-hosted pools (``reports.gpu_pools``) shared out by token count.

A pool's GPUs cost by the hour whether they are busy or not: the period's hours (up to now while it runs)
times its GPUs, priced at ``gpu_hour_usd``, go to the tenants and models its upstream served, in
proportion to their prompt plus completion tokens. A pool that served nothing keeps one idle line, so
its cost never disappears from the report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection

from genai.reports.aggregate import Scope, tokens_by_upstream
from genai.reports.model import GpuShare
from genai.reports.periods import Period
from genai.settings.reports import GpuPool


def gpu_shares(
    connection: Connection,
    period: Period,
    pools: Mapping[str, GpuPool],
    now: datetime,
    tenants: Sequence[str] = (),
) -> list[GpuShare]:
    """One line per pool, tenant and model; shares are over every tenant, then filtered to ``tenants``."""
    if not pools:
        return []
    end = period.elapsed_end(now)
    hours = (end - period.start) / timedelta(hours=1)
    upstreams = [pool.upstream for pool in pools.values()]
    rows = tokens_by_upstream(connection, Scope(period.start, end), upstreams)
    shares: list[GpuShare] = []
    for name, pool in sorted(pools.items()):
        gpu_hours = pool.gpus * hours
        served = [row for row in rows if row[0] == pool.upstream and row[3] > 0]
        total = sum(row[3] for row in served)  # a handful of grouped rows, not the ledger
        if total == 0:
            shares.append(
                GpuShare(
                    pool=name,
                    upstream=pool.upstream,
                    tenant=None,
                    model="(idle)",
                    tokens=0,
                    share=1.0,
                    gpu_hours=gpu_hours,
                    cost_usd=gpu_hours * pool.gpu_hour_usd,
                )
            )
            continue
        for _, tenant, model, tokens in sorted(served, key=lambda row: -row[3]):
            if tenants and tenant not in tenants:
                continue
            share = tokens / total
            shares.append(
                GpuShare(
                    pool=name,
                    upstream=pool.upstream,
                    tenant=tenant,
                    model=model,
                    tokens=tokens,
                    share=share,
                    gpu_hours=gpu_hours * share,
                    cost_usd=gpu_hours * share * pool.gpu_hour_usd,
                )
            )
    return shares
