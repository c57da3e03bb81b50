"""The promotion flow: a candidate version becomes champion only through the gates.

pick the candidate (the version asked for, else the challenger) -> its and the champion's latest
evaluations on the same eval set (``registry.tracking``) -> the gates (``genai.evaluation.gates`` with
``registry.gates``) -> every gate's result and the decision as tags of the candidate version -> on
success the aliases move (champion -> previous-champion, candidate -> champion); on failure nothing moves
-> a Prefect event (``genai.model.promoted`` / ``genai.model.promotion-refused``, resource
``genai.model.<name>``) and the report under ``promotion-<name>``.

Run it after an evaluation (``evaluate(promote=True)``), from ``genai models promote NAME --version N``,
from the Prefect UI (deployment ``promote``) or through the Prefect API. Rollback is not a flow: it
restores a known version and needs no gate (``genai models rollback NAME``).
"""

from __future__ import annotations

from typing import Annotated, Any

from prefect import flow, get_run_logger
from pydantic import AfterValidator, Field, WithJsonSchema

from flows.evaluate import EvalSetPath, default_eval_set, ui_field
from genai.settings import get_settings
from registry.refs import NAME_PATTERN
from tasks import promote as steps


def _version(value: int | None) -> int | None:
    if value is not None and value < 0:
        raise ValueError(f"versions start at 1 (0: the challenger); got {value}")
    return value or None


ModelName = Annotated[
    str,
    Field(pattern=rf"^{NAME_PATTERN}$"),
    ui_field("Model", "The registered model whose candidate is promoted.", pattern=rf"^{NAME_PATTERN}$"),
]
Version = Annotated[
    int | None,
    AfterValidator(_version),
    WithJsonSchema({"type": "integer", "minimum": 0}),  # a plain number box in the UI, 0 by default
    ui_field("Version", "The candidate version. 0: the model's challenger."),
]


@flow(name="promote", log_prints=True)
def promote(model: ModelName, version: Version = 0, eval_set: EvalSetPath = "") -> dict[str, Any]:
    """Promote ``model``'s candidate if every gate passes on ``eval_set``; returns the decision with
    every gate's result."""
    from genai.evaluation.eval_set import load_eval_set
    from registry.client import ModelRegistry

    settings = get_settings()
    logger = get_run_logger()
    registry = ModelRegistry.from_settings(settings)
    candidate = steps.pick_candidate(registry, model, version)
    if candidate is None:
        aliases = dict(registry.model(model).aliases)
        decision = steps.refused(
            model,
            None,
            f"model {model!r} has no challenger; name a version to promote",
            aliases_before=aliases,
        )
    else:
        checked = load_eval_set(eval_set or default_eval_set(settings))
        decision = steps.decide(
            registry, candidate, checked.sha256, str(checked.path), settings.registry.gates
        )
        steps.record_decision(registry, decision)
        if decision.promoted:
            decision.aliases_after = steps.move_aliases(registry, decision)
    steps.announce(decision)
    log = logger.info if decision.promoted else logger.warning
    log("%s/%s %s: %s", model, decision.version, decision.decision, decision.reason)
    return decision.model_dump(mode="json")
