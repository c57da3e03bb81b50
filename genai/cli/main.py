"""The `genai` entry point: builds the typer app from the command modules."""

from __future__ import annotations

import typer

from genai.cli import (
    audit_cmd,
    config_cmd,
    demo_cmd,
    eval_cmd,
    gateway_cmd,
    ingest_cmd,
    keys_cmd,
    metrics_cmd,
    models_cmd,
    quarantine_cmd,
    report_cmd,
    search_cmd,
    up_cmd,
    usage_cmd,
    worker_cmd,
)

app = typer.Typer(
    name="genai",
    help="genai-platform: ingest knowledge bases, search them, and run the platform's services.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("demo")(demo_cmd.demo)
app.command("ingest")(ingest_cmd.ingest)
app.command("search")(search_cmd.search)
app.command("up")(up_cmd.up)
app.command("gateway")(gateway_cmd.gateway)
app.command("worker")(worker_cmd.worker)
app.command("metrics")(metrics_cmd.metrics)
app.add_typer(quarantine_cmd.app, name="quarantine")
app.add_typer(config_cmd.app, name="config")
app.add_typer(models_cmd.app, name="models")
app.add_typer(eval_cmd.app, name="eval")
app.add_typer(keys_cmd.app, name="keys")
app.add_typer(usage_cmd.app, name="usage")
app.add_typer(audit_cmd.app, name="audit")
app.add_typer(report_cmd.app, name="report")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
