"""The retrieval ablation's path on a tiny corpus: the ingestion flow twice (plain and contextual chunks),
then the evaluation flow with ``search_modes`` over every mode, through ``benchmarks/retrieval/ablation``'s
own functions, against the real embedding model, SQLite and Qdrant local mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.retrieval import ablation
from genai.settings import get_settings

KB = "tiny-docs"
CORPUS = {
    "frob.md": "# frob(1)\n\n## Options\n\n--frobnicate-widgets\n    turn every widget inside out before "
    "the copy starts.\n\n--quiet\n    print nothing.\n",
    "leave.md": "# Leave policy\n\nEmployees receive twenty-five days of paid leave each year. Unused leave "
    "days expire at the end of March.\n",
    "backup.md": "# Backups\n\nThe database is copied to the archive every night at two o'clock, and "
    "copies are kept for thirty days.\n",
}
QUESTIONS = [
    ("tiny-flag-1", "what does --frobnicate-widgets do", "frob.md"),
    ("tiny-natural-1", "how many vacation days do staff get per year", "leave.md"),
    ("tiny-natural-2", "when are nightly database copies made", "backup.md"),
]


def test_ablation_runs_every_mode_through_the_evaluation_flow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefect_api_url: str
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in CORPUS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    eval_set = tmp_path / "tiny.jsonl"
    rows = [
        {"id": i, "question": q, "reference_answer": doc, "relevant_doc_ids": [doc], "knowledge_base": KB}
        for i, q, doc in QUESTIONS
    ]
    eval_set.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    home = tmp_path / "home"
    ablation.write_config(home, [KB])
    monkeypatch.setenv("GENAI_HOME", str(home))
    get_settings.cache_clear()
    try:
        assert get_settings().retrieval.for_kb(f"{KB}-ctx").contextual
        assert not get_settings().retrieval.for_kb(KB).contextual
        results = ablation.run_ablation(
            {"tiny": {"corpus": str(corpus), "eval_set": str(eval_set), "knowledge_base": KB}}
        )
    finally:
        get_settings.cache_clear()

    entry = results["tiny"]
    assert set(entry["rows"]) == {label for label, _, _ in ablation.ROWS}
    assert entry["ingest"][KB]["chunks"] == len(CORPUS) == entry["ingest"][f"{KB}-ctx"]["chunks"]
    for label, row in entry["rows"].items():
        assert row["n"] == len(QUESTIONS) and row["errors"] == 0, (label, row["first_error"])
        assert row["latency_p95_ms"] > 0
    # The exact option name is what sparse vectors find: the flag question ranks its page first.
    assert entry["rows"]["sparse"]["by_kind"]["flag"]["hit_at_1"] == 1.0
    assert entry["rows"]["hybrid"]["by_kind"]["flag"]["hit_at_1"] == 1.0
    assert entry["rows"]["dense"]["metrics"]["hit_at_5"] == 1.0  # three documents: all are in the top 5
    assert "| tiny (tuning) | hybrid+contextual |" in ablation.markdown_table(results)
