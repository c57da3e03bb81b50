"""The latest evaluation of every registered version, reduced to what a cost report needs: how many of
the eval set's answers were correct (the ``correct`` and ``n`` metrics of its newest finished run)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from registry.errors import RegistryError
from registry.mlflow_store import translated
from registry.tracking import EXPERIMENT, TAG_MODEL, TAG_VERSION

if TYPE_CHECKING:
    from genai.reports.model import EvalAccuracy
    from genai.settings import Settings
    from registry.client import ModelRegistry

logger = logging.getLogger(__name__)

MOST_RUNS = 5000  # newest first; older runs of a version never win anyway


def latest_accuracy(registry: ModelRegistry) -> dict[str, EvalAccuracy]:
    """``NAME/N`` -> correct of n in the version's newest finished evaluation (any eval set)."""
    from genai.reports.model import EvalAccuracy

    client = registry.mlflow_client()
    with translated(RegistryError):
        experiment = client.get_experiment_by_name(EXPERIMENT)
        if experiment is None:
            return {}
        runs = client.search_runs(
            [experiment.experiment_id],
            filter_string="attributes.status = 'FINISHED'",
            order_by=["attributes.start_time DESC"],
            max_results=MOST_RUNS,
        )
    accuracy: dict[str, EvalAccuracy] = {}
    for run in runs:  # newest first: a version's first run here is its latest evaluation
        tags, metrics = run.data.tags, run.data.metrics
        ref = f"{tags.get(TAG_MODEL)}/{tags.get(TAG_VERSION)}"
        if ref not in accuracy and "n" in metrics and "correct" in metrics:
            accuracy[ref] = EvalAccuracy(
                correct=int(metrics["correct"]), n=int(metrics["n"]), run_id=str(run.info.run_id)
            )
    return accuracy


def read_registry(settings: Settings) -> tuple[dict[str, EvalAccuracy], list[str]]:
    """The latest accuracy of each version and the registered model names. A registry that cannot be
    read gives none of either: a cost report still runs, without cost per correct answer."""
    from registry.client import ModelRegistry

    try:
        registry = ModelRegistry.from_settings(settings)
        return latest_accuracy(registry), [model.name for model in registry.models()]
    except Exception as error:  # any registry failure only costs the per-correct-answer numbers
        logger.warning("the registry could not be read (%s): no cost per correct answer", error)
        return {}, []


def known_models(settings: Settings, registered: list[str]) -> set[str]:
    """Model names the platform can serve: settings routes, priced names, registered models."""
    return set(settings.gateway.models) | set(settings.accounting.prices) | set(registered)
