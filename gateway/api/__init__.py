"""The gateway's HTTP endpoints: OpenAI's API (chat, completions, embeddings, models, files, batches) and
the operational ones (health probes, Prometheus metrics), plus the middleware and error handling they
share."""

from fastapi import APIRouter

from gateway.api import batches, chat, completions, embeddings, files, health, metrics, models


def api_routers() -> list[APIRouter]:
    """Every router of the app, in the order they are mounted."""
    return [
        chat.router,
        completions.router,
        embeddings.router,
        models.router,
        files.router,
        batches.router,
        health.router,
        metrics.router,
    ]
