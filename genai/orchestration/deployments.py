"""The platform's deployments as served by `genai up`. deployments/prefect.yaml declares the same ones
for a shared Prefect server with work pools."""

from __future__ import annotations

from typing import Any


def platform_deployments() -> list[Any]:
    """Runner deployments for every flow the platform offers in the Prefect UI."""
    from prefect.deployments.runner import EntrypointType

    from flows.ingest import ingest

    return [
        ingest.to_deployment(
            name="ingest",
            description="Ingest a folder of documents into a knowledge base (parse, check, chunk, embed).",
            tags=["genai", "ingestion"],
            entrypoint_type=EntrypointType.MODULE_PATH,
        ),
    ]
