"""The evaluation flow: candidates answer an eval set through the gateway, are scored, logged to MLflow and
compared side by side; optionally the challenger then goes through the promotion gates.

check the eval set (Great Expectations; invalid: the flow fails, the bad rows in an artifact) -> pin each
model reference to a version through the registry -> per candidate: every example through the gateway
(``NAME/N``, bounded concurrency), scores, embedding similarity, the output suite, one MLflow run and the
version's ``genai.eval.*`` tags -> the comparison artifact (``evaluation-<set sha12>``) -> with
``promote=True``, the promotion flow for each evaluated challenger.

Run it from the Prefect UI (deployments ``evaluate`` and ``evaluate-nightly``), through the Prefect REST
API, with ``genai eval run``, or by calling ``evaluate(models=["qa@challenger"], ...)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run
from pydantic import AfterValidator, Field, WithJsonSchema

from genai.settings import Settings, get_settings
from registry.refs import ALIASES, NAME_PATTERN, parse_ref
from tasks import evaluate as steps

REF_PATTERN = rf"^{NAME_PATTERN}(@({'|'.join(ALIASES)})|/[0-9]{{1,9}})?$"


def ui_field(title: str, description: str, **schema: Any) -> Any:
    """Title and description as the Prefect UI shows them (``json_schema_extra`` survives Prefect's own
    titling of parameters, see ``genai.ingest.request``)."""
    return Field(json_schema_extra={"title": title, "description": description, **schema})


def _refs(values: Sequence[str]) -> Sequence[str]:
    for value in values:
        parse_ref(value)  # InvalidModelRefError (a ValueError) says what a reference looks like
    return values


def _in_flight(value: int | None) -> int | None:
    if value is not None and not 0 <= value <= 256:
        raise ValueError(f"concurrency is 1 to 256 requests in flight (0: the setting); got {value}")
    return value


EvalSetPath = Annotated[
    str,
    ui_field(
        "Eval set",
        "A JSONL eval set on the machine where the flow runs. Empty: registry.evaluation.default_eval_set, "
        "else the sample set for the demo knowledge base.",
    ),
]
ModelRefs = Annotated[
    Sequence[str],
    AfterValidator(_refs),
    ui_field(
        "Models",
        "Model references: NAME (its champion), NAME@challenger or NAME/VERSION. Empty: every registered "
        "model's champion and challenger.",
        items={"type": "string", "pattern": REF_PATTERN},
    ),
]
GatewayUrl = Annotated[
    str | None,
    WithJsonSchema({"type": "string"}),  # a plain text box in the UI; None from Python means "empty"
    ui_field("Gateway URL", "The gateway the candidates answer through. Empty: gateway.host:gateway.port."),
]
Concurrency = Annotated[
    int | None,
    AfterValidator(_in_flight),
    WithJsonSchema({"type": "integer", "minimum": 0, "maximum": 256}),
    ui_field(
        "Concurrency", "Requests in flight per candidate, 1 to 256. 0: registry.evaluation.concurrency."
    ),
]
MaxTokens = Annotated[int, Field(ge=1, le=8192), ui_field("Max tokens", "Most tokens per answer.")]
Promote = Annotated[
    bool,
    ui_field("Promote", "Afterwards, run each evaluated challenger through the promotion gates."),
]
SearchModes = Annotated[
    Sequence[Literal["configured", "dense", "sparse", "hybrid"]],
    ui_field(
        "Search modes",
        "Evaluate the search alone, no model: every question searched directly in each mode listed "
        "(configured: each knowledge base's own mode), scored on documents (hit@1, hit@5, MRR@10, nDCG@10) "
        "and timed. Empty: evaluate the models.",
    ),
]
KnowledgeBase = Annotated[
    str,
    ui_field("Knowledge base", "Search this knowledge base for every question. Empty: each example's own."),
]


def default_eval_set(settings: Settings) -> Path:
    """The set a run without one evaluates: the configured one, else the packaged sample set."""
    configured = settings.registry.evaluation.default_eval_set
    if configured is not None:
        return configured
    import genai.demo

    return Path(genai.demo.__file__).parent / "eval_set.jsonl"


def gateway_base_url(settings: Settings) -> str:
    host = settings.gateway.host
    # A gateway bound to every interface is reached on the loopback one.
    return f"http://{'127.0.0.1' if host in {'0.0.0.0', '::', ''} else host}:{settings.gateway.port}"


@flow(name="evaluate", log_prints=True)
def evaluate(
    eval_set: EvalSetPath = "",
    models: ModelRefs = (),
    gateway_url: GatewayUrl = "",
    concurrency: Concurrency = 0,
    max_tokens: MaxTokens = 64,
    promote: Promote = False,
    search_modes: SearchModes = (),
    knowledge_base: KnowledgeBase = "",
) -> dict[str, Any]:
    """Evaluate ``models`` on ``eval_set`` through the gateway; returns the candidates' summaries. With
    ``search_modes``, evaluate the search alone in each mode instead (no model)."""
    from registry.client import ModelRegistry

    settings = get_settings()
    logger = get_run_logger()
    checked = steps.check_eval_set(str(eval_set or default_eval_set(settings)))
    if search_modes:
        if models:
            raise ValueError("search_modes evaluates the search alone: leave models empty")
        return _evaluate_search(checked, list(search_modes), knowledge_base or None, settings)
    registry = ModelRegistry.from_settings(settings)
    candidates = steps.resolve_candidates(list(models), registry)
    if not candidates:
        create_markdown_artifact(
            f"# Evaluation on `{checked.path.name}`\n\nNo registered model has a champion or a challenger: "
            "nothing to evaluate.",
            key=steps.evaluation_key(checked.sha256),
        )
        logger.warning("no registered model has a champion or a challenger: nothing to evaluate")
        return {"eval_set": str(checked.path), "sha256": checked.sha256, "candidates": [], "promotions": []}
    url = gateway_url or gateway_base_url(settings)
    evaluation = settings.registry.evaluation
    in_flight = concurrency or evaluation.concurrency
    params = {"k": evaluation.k, "concurrency": in_flight, "max_tokens": max_tokens, "gateway_url": url}
    params["examples"] = len(checked)
    run_id = str(flow_run.get_id() or "local")
    runs = []
    for candidate in candidates:
        run = steps.run_candidate(candidate, checked, url, settings, max_tokens, in_flight)
        run.output_failures = steps.check_outputs(run, settings)
        run.run_id = steps.log_evaluation(run, checked, registry, params, run_id)
        logger.info("%s: %s", candidate.pinned, run.summary.model_dump_json(exclude={"k"}))
        runs.append(run)
    steps.publish_comparison(checked, runs, evaluation.k)
    promotions = _promote_challengers(runs, checked.path) if promote else []
    return {
        "eval_set": str(checked.path),
        "sha256": checked.sha256,
        "gateway_url": url,
        "candidates": [
            {**row, "summary": run.summary.model_dump(mode="json"), "output_failures": run.output_failures}
            for row, run in zip(steps.comparison_rows(runs), runs, strict=True)
        ],
        "promotions": promotions,
    }


def _evaluate_search(
    checked: Any, modes: list[Any], knowledge_base: str | None, settings: Settings
) -> dict[str, Any]:
    """One search task per mode, the comparison artifact; returns every mode's summary."""
    from tasks import evaluate_search

    summaries = [evaluate_search.search_eval_set(checked, settings, mode, knowledge_base) for mode in modes]
    for summary in summaries:
        get_run_logger().info("search %s: %s", summary.label, summary.model_dump_json(include={"metrics"}))
    evaluate_search.publish_search_comparison(checked, summaries)
    return {
        "eval_set": str(checked.path),
        "sha256": checked.sha256,
        "knowledge_base": knowledge_base,
        "search": [summary.model_dump(mode="json") for summary in summaries],
    }


def _promote_challengers(runs: list[steps.CandidateRun], eval_set: Path) -> list[dict[str, Any]]:
    """The promotion flow (a subflow of this run) for each evaluated version that is its model's
    challenger."""
    from flows.promote import promote

    challengers = {
        run.candidate.entry.name: run.candidate.entry.version
        for run in runs
        if "challenger" in run.candidate.entry.aliases
    }
    return [
        promote(model=name, version=version, eval_set=str(eval_set)) for name, version in challengers.items()
    ]
