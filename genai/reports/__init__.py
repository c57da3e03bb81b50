"""Cost reports over the usage ledger, as plain functions: periods, SQL aggregation, GPU shares, budgets
and their alerts, the ledger checks' extract, and the report's markdown, CSV and chart.

The flow (flows/cost_report.py) and `genai report cost` call these; every sum, count and percentile is
computed by the database (GROUP BY, percentile_cont or an ORDER BY/OFFSET query), never row by row here.
"""
