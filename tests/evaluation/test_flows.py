"""The evaluate and promote flows for real: a knowledge base ingested here, extractive versions registered
in MLflow (SQLite under the test home) and served by a real gateway, the session's Prefect server for the
runs, their artifacts and the promotion events."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from flows.evaluate import evaluate
from flows.promote import promote
from genai.evaluation.eval_set import EvalSetError, load_eval_set
from genai.settings import get_settings
from registry.tracking import latest_eval
from tests.evaluation.flows_env import (
    EvaluationEnv,
    eval_rows,
    evaluation_env,
    latest_artifact,
    write_eval_set,
)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, prefect_api_url: str) -> Iterator[EvaluationEnv]:
    yield from evaluation_env(tmp_path_factory, prefect_api_url)


def run_evaluate(env: EvaluationEnv, models: list[str], **options: Any) -> dict[str, Any]:
    return evaluate(eval_set=str(env.eval_set), models=models, gateway_url=env.gateway_url, **options)


def events(api_url: str, name: str, resource_id: str, timeout: float = 30) -> list[dict[str, Any]]:
    """The Prefect events named ``name`` about ``resource_id`` (events reach the server asynchronously)."""
    body = {"filter": {"event": {"name": [name]}, "resource": {"id": [resource_id]}}, "limit": 50}
    deadline = time.monotonic() + timeout
    while True:
        found = (
            httpx.post(f"{api_url}/events/filter", json=body, timeout=10).raise_for_status().json()["events"]
        )
        if found or time.monotonic() > deadline:
            return list(found)
        time.sleep(0.5)


def test_evaluate_logs_each_candidate_and_compares_them(env: EvaluationEnv, prefect_api_url: str) -> None:
    champion, challenger = env.register_pair("flow-qa")
    eval_set = load_eval_set(env.eval_set)

    report = run_evaluate(env, ["flow-qa", "flow-qa@challenger"], concurrency=2)

    rows = {row["candidate"]: row for row in report["candidates"]}
    assert set(rows) == {f"flow-qa/{champion}", f"flow-qa/{challenger}"}
    assert rows[f"flow-qa/{champion}"]["asked_as"] == "flow-qa"
    for number in (champion, challenger):
        row = rows[f"flow-qa/{number}"]
        summary = row["summary"]
        assert summary["n"] == len(eval_set) and summary["errors"] == 0
        assert summary["metrics"]["hit_at_k"] == 1.0  # every answer's document is among the citations
        assert summary["metrics"]["token_f1"] > 0.5 and summary["metrics"]["embedding_similarity"] > 0.5
        assert summary["tokens"] > 0 and summary["cost_total"] > 0
        assert row["output_check"] == "pass" and row["output_failures"] == []
        record = latest_eval(env.registry, "flow-qa", number, eval_set.sha256)
        assert record is not None and record.run_id == row["mlflow_run_id"]
        assert set(record.scores) == {example.id for example in eval_set.examples}
        assert record.info.params["concurrency"] == 2
        tags = env.registry.version("flow-qa", number).tags
        assert tags[f"genai.eval.{eval_set.short_hash}.run_id"] == row["mlflow_run_id"]
    # k=1 retrieves one chunk, k=3 three: the retrieval numbers tell them apart.
    assert rows[f"flow-qa/{champion}"]["ndcg_at_k"] <= rows[f"flow-qa/{challenger}"]["ndcg_at_k"]

    markdown = latest_artifact(prefect_api_url, f"evaluation-{eval_set.short_hash}")["data"]
    assert f"flow-qa/{champion}" in markdown and f"flow-qa/{challenger}" in markdown
    assert "| token F1 |" in markdown and rows[f"flow-qa/{challenger}"]["mlflow_run_id"] in markdown
    table = latest_artifact(prefect_api_url, f"evaluation-{eval_set.short_hash}-table")["data"]
    table_rows = json.loads(table) if isinstance(table, str) else table
    assert {row["candidate"] for row in table_rows} == set(rows)


def test_failed_output_checks_are_reported_not_raised(
    env: EvaluationEnv, prefect_api_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env.register_pair("checked-qa")
    monkeypatch.setenv("GENAI_REGISTRY__EVALUATION__MAX_P95_LATENCY_MS", "0.001")
    get_settings.cache_clear()
    try:
        report = run_evaluate(env, ["checked-qa"])
    finally:
        monkeypatch.delenv("GENAI_REGISTRY__EVALUATION__MAX_P95_LATENCY_MS")
        get_settings.cache_clear()

    [row] = report["candidates"]
    assert row["output_check"] == "fail"
    assert [failure.split(":")[0] for failure in row["output_failures"]] == ["p95_latency_within_bound"]
    markdown = latest_artifact(prefect_api_url, f"evaluation-{load_eval_set(env.eval_set).short_hash}")[
        "data"
    ]
    assert f"## Output check failures of {row['candidate']}" in markdown
    assert "| output check | **fail** |" in markdown


def test_promotion_moves_the_aliases_when_every_gate_passes(env: EvaluationEnv, prefect_api_url: str) -> None:
    champion, challenger = env.register_pair("promo-qa")
    run_evaluate(env, ["promo-qa@champion", "promo-qa@challenger"])

    decision = promote(model="promo-qa", eval_set=str(env.eval_set))

    assert decision["decision"] == "promoted", decision
    assert decision["version"] == challenger and decision["champion"] == champion
    assert {gate["name"] for gate in decision["gates"]} >= {
        "no_regression",
        "max_error_rate",
        "max_p95_latency",
    }
    assert all(gate["passed"] for gate in decision["gates"])
    model = env.registry.model("promo-qa")
    assert dict(model.aliases) == {"champion": challenger, "previous-champion": champion}
    tags = env.registry.version("promo-qa", challenger).tags
    assert tags["genai.promotion"].startswith("promoted: ")
    assert tags["genai.gate.no_regression"].startswith("pass: token_f1: candidate")
    assert latest_artifact(prefect_api_url, "promotion-promo-qa")["data"].startswith(
        f"# promo-qa/{challenger}: promoted to champion"
    )
    emitted = events(prefect_api_url, "genai.model.promoted", "genai.model.promo-qa")
    assert emitted and emitted[0]["payload"]["version"] == challenger
    assert {gate["name"] for gate in emitted[0]["payload"]["gates"]} == {g["name"] for g in decision["gates"]}


def test_a_failing_gate_leaves_the_champion_in_place(
    env: EvaluationEnv, prefect_api_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    champion, challenger = env.register_pair("strict-qa")
    # A p95 latency budget no request can meet: the gate fails on real numbers, not on a fake.
    monkeypatch.setenv("GENAI_REGISTRY__GATES__MAX_P95_LATENCY_MS", "0.001")
    get_settings.cache_clear()
    try:
        report = run_evaluate(env, ["strict-qa", "strict-qa@challenger"], promote=True)
    finally:
        monkeypatch.delenv("GENAI_REGISTRY__GATES__MAX_P95_LATENCY_MS")
        get_settings.cache_clear()

    [decision] = report["promotions"]
    assert decision["decision"] == "refused" and decision["version"] == challenger
    assert "max_p95_latency" in decision["reason"]
    failed = [gate for gate in decision["gates"] if not gate["passed"]]
    assert [gate["name"] for gate in failed] == ["max_p95_latency"]
    assert dict(env.registry.model("strict-qa").aliases) == {"champion": champion, "challenger": challenger}
    tags = env.registry.version("strict-qa", challenger).tags
    assert tags["genai.promotion"].startswith("refused: failed gates: max_p95_latency")
    assert tags["genai.gate.max_p95_latency"].startswith("fail: p95 latency")
    assert "genai.promotion" not in env.registry.version("strict-qa", champion).tags
    assert "refused" in latest_artifact(prefect_api_url, "promotion-strict-qa")["data"]
    assert events(prefect_api_url, "genai.model.promotion-refused", "genai.model.strict-qa")


def test_promotion_without_an_evaluation_of_the_candidate_is_refused(env: EvaluationEnv) -> None:
    champion, challenger = env.register_pair("fresh-qa")

    decision = promote(model="fresh-qa", eval_set=str(env.eval_set))

    assert decision["decision"] == "refused" and decision["gates"] == []
    assert f"fresh-qa/{challenger} has no evaluation on eval set" in decision["reason"]
    assert f"--model fresh-qa/{challenger}" in decision["reason"]  # says what to run
    assert dict(env.registry.model("fresh-qa").aliases) == {"champion": champion, "challenger": challenger}


def test_an_invalid_eval_set_fails_the_flow_with_its_bad_rows(
    env: EvaluationEnv, prefect_api_url: str
) -> None:
    rows = eval_rows()
    rows[1]["question"] = "   "
    rows[3]["knowledge_base"] = "Not A Name"
    bad = write_eval_set(env.home.parent / "bad.jsonl", rows)
    env.register_pair("bad-set-qa")

    with pytest.raises(EvalSetError) as refused:
        evaluate(eval_set=str(bad), models=["bad-set-qa"], gateway_url=env.gateway_url)

    assert {row.line for row in refused.value.bad_rows} == {2, 4}
    import hashlib

    digest = hashlib.sha256(bad.read_bytes()).hexdigest()[:12]
    report = latest_artifact(prefect_api_url, f"evaluation-{digest}")["data"]
    assert report.startswith("# Eval set refused")
    assert "| 2 | question |" in report and "| 4 | knowledge_base |" in report


def test_unknown_model_reference_is_refused_before_any_request(env: EvaluationEnv) -> None:
    from prefect.exceptions import ParameterTypeError

    from registry.errors import UnknownModelError

    with pytest.raises(UnknownModelError, match="no registered model 'nobody'"):
        run_evaluate(env, ["nobody@challenger"])
    # A malformed reference never reaches the flow's body: Prefect validates the parameters first.
    with pytest.raises(ParameterTypeError, match="not a model reference"):
        run_evaluate(env, ["two words"])
