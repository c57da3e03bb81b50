"""The promotion flow's tasks: decide through the gates, record the decision on the version, move the
aliases, and announce it (a Prefect event and a markdown artifact).

``decide`` only reads (the candidate's and the champion's latest evaluations on one eval set, then
``genai.evaluation.gates``); nothing moves unless its decision says ``promoted``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

from tasks.reporting import artifact_key

if TYPE_CHECKING:
    from genai.settings import GateSettings
    from registry.client import ModelRegistry
    from registry.snapshot import VersionEntry

PROMOTED_EVENT = "genai.model.promoted"
REFUSED_EVENT = "genai.model.promotion-refused"
PROMOTION_TAG = "genai.promotion"


class GateLine(BaseModel):
    name: str
    passed: bool
    detail: str


class PromotionDecision(BaseModel):
    """What the gates said about a candidate version, and what moved."""

    model: str
    version: int | None = Field(description="The candidate; None when there was none to promote.")
    champion: int | None = None
    eval_set_sha256: str = ""
    decision: Literal["promoted", "refused"]
    reason: str
    gates: list[GateLine] = Field(default_factory=list)
    candidate_run_id: str = ""
    champion_run_id: str = ""
    aliases_before: dict[str, int] = Field(default_factory=dict)
    aliases_after: dict[str, int] = Field(default_factory=dict)

    @property
    def promoted(self) -> bool:
        return self.decision == "promoted"

    @property
    def failed_gates(self) -> list[str]:
        return [gate.name for gate in self.gates if not gate.passed]


def refused(model: str, version: int | None, reason: str, **fields: Any) -> PromotionDecision:
    return PromotionDecision(model=model, version=version, decision="refused", reason=reason, **fields)


@task(name="pick-candidate", cache_policy=NO_CACHE)
def pick_candidate(registry: ModelRegistry, model: str, version: int | None) -> VersionEntry | None:
    """The version asked for, else the model's challenger (None when it has none)."""
    from registry.errors import UnknownAliasError

    if version is not None:
        return registry.version(model, version)
    try:
        return registry.resolve(f"{model}@challenger")
    except UnknownAliasError:
        return None


@task(name="decide", cache_policy=NO_CACHE)
def decide(
    registry: ModelRegistry,
    candidate: VersionEntry,
    eval_set_sha256: str,
    eval_set_path: str,
    gates: GateSettings,
) -> PromotionDecision:
    """The gates on the candidate's and the champion's latest evaluations on the same eval set."""
    from genai.evaluation.gates import evaluate_gates
    from registry.tracking import latest_eval

    name, number = candidate.name, candidate.version
    aliases = dict(registry.model(name).aliases)
    champion = aliases.get("champion")
    common: dict[str, Any] = {
        "eval_set_sha256": eval_set_sha256,
        "champion": champion,
        "aliases_before": aliases,
    }
    if champion == number:
        return refused(name, number, f"{candidate.ref} is already the champion", **common)
    mine = latest_eval(registry, name, number, eval_set_sha256)
    if mine is None:
        return refused(
            name,
            number,
            f"{candidate.ref} has no evaluation on eval set {eval_set_sha256[:12]} ({eval_set_path}); "
            f"evaluate it first: genai eval run --set {eval_set_path} --model {candidate.ref}",
            **common,
        )
    theirs = None
    if champion is not None:
        theirs = latest_eval(registry, name, champion, eval_set_sha256)
        if theirs is None:
            # Without the champion's numbers on the same examples the regression gate would pass by
            # default: refuse instead, so a candidate is never compared with nothing.
            return refused(
                name,
                number,
                f"the champion {name}/{champion} has no evaluation on eval set {eval_set_sha256[:12]}; "
                f"evaluate both: genai eval run --set {eval_set_path} --model {name}/{champion} "
                f"--model {candidate.ref}",
                candidate_run_id=mine.run_id,
                **common,
            )
    report = evaluate_gates(
        mine.summary_model(),
        mine.scores,
        theirs.summary_model() if theirs is not None else None,
        theirs.scores if theirs is not None else None,
        gates,
    )
    lines = [GateLine(name=r.name, passed=r.passed, detail=r.detail) for r in report.results]
    runs = {"candidate_run_id": mine.run_id, "champion_run_id": theirs.run_id if theirs else ""}
    if report.passed:
        return PromotionDecision(
            model=name,
            version=number,
            decision="promoted",
            reason=report.summary(),
            gates=lines,
            **runs,
            **common,
        )
    return refused(name, number, report.summary(), gates=lines, **runs, **common)


@task(name="record-decision", cache_policy=NO_CACHE)
def record_decision(registry: ModelRegistry, decision: PromotionDecision) -> None:
    """Every gate's result and the decision, as tags of the candidate version."""
    if decision.version is None:
        return
    tags = {f"genai.gate.{g.name}": f"{'pass' if g.passed else 'fail'}: {g.detail}" for g in decision.gates}
    tags[PROMOTION_TAG] = f"{decision.decision}: {decision.reason}"
    if decision.eval_set_sha256:
        tags["genai.promotion.eval_set"] = decision.eval_set_sha256
    registry.set_tags(decision.model, decision.version, tags)


@task(name="move-aliases", cache_policy=NO_CACHE)
def move_aliases(registry: ModelRegistry, decision: PromotionDecision) -> dict[str, int]:
    """The promotion itself: champion -> previous-champion, the candidate -> champion."""
    assert decision.promoted and decision.version is not None, "only a passed decision moves aliases"
    return dict(registry.promote(decision.model, decision.version).after)


@task(name="announce", cache_policy=NO_CACHE)
def announce(decision: PromotionDecision) -> None:
    """A Prefect event (automations can react to it) and the report under ``promotion-<model>``."""
    from prefect.events import emit_event

    related = []
    if decision.version is not None:
        related.append(
            {
                "prefect.resource.id": f"genai.model-version.{decision.model}.{decision.version}",
                "prefect.resource.role": "model-version",
            }
        )
    emit_event(
        event=PROMOTED_EVENT if decision.promoted else REFUSED_EVENT,
        resource={
            "prefect.resource.id": f"genai.model.{decision.model}",
            "prefect.resource.name": decision.model,
        },
        related=related,
        payload=decision.model_dump(mode="json"),
    )
    create_markdown_artifact(
        decision_markdown(decision),
        key=artifact_key("promotion", decision.model),
        description=f"Latest promotion decision for model {decision.model}",
    )


def decision_markdown(decision: PromotionDecision) -> str:
    candidate = f"{decision.model}/{decision.version}" if decision.version is not None else decision.model
    verdict = "promoted to champion" if decision.promoted else "refused"
    lines = [f"# {candidate}: {verdict}", "", decision.reason, ""]
    if decision.eval_set_sha256:
        champion = f"{decision.model}/{decision.champion}" if decision.champion is not None else "none"
        lines += [f"Eval set `{decision.eval_set_sha256[:12]}`; champion before: {champion}.", ""]
    if decision.gates:
        lines += ["| gate | result | detail |", "|---|---|---|"]
        for gate in decision.gates:
            detail = gate.detail.replace("|", "\\|")
            lines.append(f"| {gate.name} | {'pass' if gate.passed else '**fail**'} | {detail} |")
        lines.append("")
    if decision.aliases_after:
        moved = ", ".join(f"{alias}={number}" for alias, number in sorted(decision.aliases_after.items()))
        lines.append(f"Aliases now: {moved}.")
    elif decision.aliases_before:
        kept = ", ".join(f"{alias}={number}" for alias, number in sorted(decision.aliases_before.items()))
        lines.append(f"Nothing moved: {kept}.")
    return "\n".join(lines)
