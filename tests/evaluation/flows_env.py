"""What the runner, flow and REST API tests of evaluation share: a small knowledge base ingested for real,
an eval set whose answers are in it, a platform home exported as GENAI_* variables (so flows, which read
the process settings, see it), a real gateway over HTTP in front of the registry, and extractive versions
registered in MLflow.

``evaluation_env`` is a generator the test modules wrap in a module-scoped fixture: one ingestion and one
gateway per module. The real embedding model is loaded once per session (the gateway's retrieval and the
flow's embedding similarity share it in this process).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from genai.settings import Settings, get_settings
from registry.client import ModelRegistry
from registry.spec import ModelSpec, PriceEntry, RetrievalConfig
from tests.fixtures.gateway import ServerThread

KB = "eval-handbook"

CORPUS = {
    "leave.md": "# Leave policy\n\nEmployees receive twenty-five days of paid leave each year. Unused leave "
    "days expire at the end of March. Requests for leave go to the team lead two weeks in advance.\n",
    "security.md": "# Security rules\n\nPasswords must be rotated every ninety days. Laptops are protected "
    "with full disk encryption. Security incidents are reported to the security desk within one hour.\n",
    "expenses.md": "# Expenses\n\nTravel expenses are reimbursed within ten working days. Receipts must be "
    "uploaded to the finance portal. Meals abroad are covered up to forty euros per day.\n",
}

QUESTIONS = [
    ("leave-days", "How many days of paid leave do employees receive each year?",
     "Employees receive twenty-five days of paid leave each year.", "leave.md"),
    ("leave-expiry", "When do unused leave days expire?",
     "Unused leave days expire at the end of March.", "leave.md"),
    ("passwords", "How often must passwords be rotated?",
     "Passwords must be rotated every ninety days.", "security.md"),
    ("incidents", "Where are security incidents reported?",
     "Security incidents are reported to the security desk within one hour.", "security.md"),
    ("travel", "When are travel expenses reimbursed?",
     "Travel expenses are reimbursed within ten working days.", "expenses.md"),
    ("meals", "How much is covered for meals abroad per day?",
     "Meals abroad are covered up to forty euros per day.", "expenses.md"),
]  # fmt: skip


def eval_rows(kb: str = KB) -> list[dict[str, Any]]:
    return [
        {
            "id": example_id,
            "question": question,
            "reference_answer": answer,
            "relevant_doc_ids": [doc],
            "knowledge_base": kb,
        }
        for example_id, question, answer, doc in QUESTIONS
    ]


def write_eval_set(path: Path, rows: list[dict[str, Any]] | None = None) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows or eval_rows()), encoding="utf-8")
    return path


def extractive(k: int = 3, price: PriceEntry | None = None, description: str = "") -> ModelSpec:
    return ModelSpec(
        kind="extractive",
        retrieval=RetrievalConfig(knowledge_base=KB, k=k),
        price=price or PriceEntry(input_per_1m=1.0, output_per_1m=2.0),
        description=description,
    )


@dataclass
class EvaluationEnv:
    """One module's platform: its home and settings, the eval set, the gateway, the registry."""

    home: Path
    settings: Settings
    eval_set: Path
    gateway_url: str
    registry: ModelRegistry

    def register_pair(self, name: str) -> tuple[int, int]:
        """``name`` with an extractive champion (k=1) and challenger (k=3); returns their versions."""
        champion = self.registry.register(name, extractive(k=1), description="eval test").version
        challenger = self.registry.register(name, extractive(k=3)).version
        self.registry.set_alias(name, "champion", champion)
        self.registry.set_alias(name, "challenger", challenger)
        return champion, challenger


def evaluation_env(
    tmp_path_factory: pytest.TempPathFactory, prefect_api_url: str, gateway: bool = True
) -> Iterator[EvaluationEnv]:
    """Build the module's platform (see the module docstring); the gateway stops and the variables are
    restored afterwards. ``gateway=False`` starts none (``gateway_url`` is empty), so that another process
    may open the knowledge base's local Qdrant store."""
    from flows.ingest import ingest
    from gateway.app import create_app

    root = tmp_path_factory.mktemp("evaluation")
    home, corpus = root / "home", root / "corpus"
    corpus.mkdir()
    for name, text in CORPUS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GENAI_HOME", str(home))
        patch.setenv("GENAI_REGISTRY__POLL_SECONDS", "0.5")  # a new version reaches the gateway sooner
        get_settings.cache_clear()
        settings = get_settings()
        summary = ingest(source=str(corpus), knowledge_base=KB)
        assert summary.new == len(CORPUS), summary
        eval_set = write_eval_set(root / "eval_set.jsonl")
        registry = ModelRegistry.from_settings(settings)
        if not gateway:
            yield EvaluationEnv(home, settings, eval_set, "", registry)
        else:
            with ServerThread(create_app(settings)) as server:
                _wait_healthy(server.url)
                yield EvaluationEnv(home, settings, eval_set, server.url, registry)
    get_settings.cache_clear()


def _wait_healthy(url: str) -> None:
    for _ in range(100):
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
    raise AssertionError(f"the gateway at {url} never answered /healthz")


def latest_artifact(api_url: str, key: str, flow_run_id: str | None = None) -> dict[str, Any]:
    """The newest artifact under ``key`` (of one flow run when given), as the Prefect UI shows it."""
    body: dict[str, Any] = {"artifacts": {"key": {"any_": [key]}}, "sort": "CREATED_DESC", "limit": 1}
    if flow_run_id is not None:
        body["artifacts"]["flow_run_id"] = {"any_": [flow_run_id]}
    found = httpx.post(f"{api_url}/artifacts/filter", json=body, timeout=10).raise_for_status().json()
    assert found, f"no artifact {key}"
    return dict(found[0])
