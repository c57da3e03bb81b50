"""The ingestion flow end to end, on a fixture corpus with good files of every type and every kind of bad
input, against each document-store backend (SQLite, PostgreSQL, MongoDB) and real Qdrant local mode, the
real embedding model and a real Prefect test server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from flows.ingest import ingest
from genai.retrieval import search
from genai.settings import Settings
from genai.stores.quarantine import QuarantineStore
from tests.fixtures.documents import deny_access, write_bad_inputs, write_good_corpus
from tests.fixtures.ingest import assert_consistent

pytestmark = pytest.mark.usefixtures("prefect_api_url")


def latest_artifact(api_url: str, key: str) -> dict[str, Any]:
    """The newest artifact under ``key``, as the Prefect UI shows it."""
    body = {"artifacts": {"key": {"any_": [key]}}, "sort": "CREATED_DESC", "limit": 1}
    found = httpx.post(f"{api_url}/artifacts/filter", json=body, timeout=10).raise_for_status().json()
    assert found, f"no artifact {key}"
    return dict(found[0])


def test_flow_ingests_good_documents_and_quarantines_every_bad_input(
    backend_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefect_api_url: str
) -> None:
    source = tmp_path / "corpus"
    good = write_good_corpus(source)
    bad = write_bad_inputs(source)
    (source / "secret.md").write_text("# Secret\n\nroot cannot read this one.\n")
    deny_access(monkeypatch, source / "secret.md")

    summary = ingest(source=str(source), knowledge_base="handbook")

    assert summary.new == len(good)
    assert summary.quarantined == len(bad) + 1
    assert summary.seen == summary.new + summary.quarantined
    assert summary.chunks == summary.total_chunks > len(good)
    assert summary.tokens > 0 and summary.deleted == 0
    view = assert_consistent(backend_settings, "handbook")
    assert set(view.documents) == set(good)

    quarantined = {r.doc_id: r for r in QuarantineStore(backend_settings.sql_url).list(kb="handbook")}
    assert set(quarantined) == {*bad, "secret.md"}
    for doc_id, expected in bad.items():
        assert expected.reason.split(":")[0] in quarantined[doc_id].reason, doc_id
        if expected.at == "parse":  # the parser's reason, not the checks that follow from it again
            assert quarantined[doc_id].check == "parsed", quarantined[doc_id]
            assert "no text left" not in quarantined[doc_id].reason, quarantined[doc_id]
    listed = {(f.source, f.check, f.reason) for f in summary.quarantined_files}
    assert listed == {(r.source, r.check, r.reason) for r in quarantined.values()}
    # The same list, in the Prefect UI: a table artifact and a table in the run's report.
    table = latest_artifact(prefect_api_url, "ingest-handbook-quarantine")["data"]
    rows = json.loads(table) if isinstance(table, str) else table
    assert {(row["source"], row["check"], row["reason"]) for row in rows} == listed
    report = latest_artifact(prefect_api_url, "ingest-handbook-summary")["data"]
    assert all(f"| {record.source} | {record.check} |" in report for record in quarantined.values())
    assert "permission denied" in quarantined["secret.md"].reason

    for doc_id, doc in good.items():
        hits = search("handbook", doc.phrase, k=3, settings=backend_settings)
        assert hits[0].doc_id == doc_id, (doc.phrase, [h.citation for h in hits])
        assert hits[0].title == doc.title


def test_second_run_changes_nothing(backend_settings: Settings, tmp_path: Path) -> None:
    source = tmp_path / "corpus"
    good = write_good_corpus(source)
    first = ingest(source=str(source), knowledge_base="kb1")
    before = assert_consistent(backend_settings, "kb1")

    second = ingest(source=str(source), knowledge_base="kb1")

    assert (second.new, second.changed, second.deleted, second.chunks) == (0, 0, 0, 0)
    assert second.unchanged == len(good) and second.total_chunks == first.total_chunks
    assert "embed" not in second.seconds
    assert assert_consistent(backend_settings, "kb1") == before


def test_changed_documents_are_replaced_and_removed_ones_deleted(
    backend_settings: Settings, tmp_path: Path
) -> None:
    source = tmp_path / "corpus"
    good = write_good_corpus(source)
    ingest(source=str(source), knowledge_base="kb2")
    before = assert_consistent(backend_settings, "kb2")

    (source / "guide.md").write_text("# Onboarding Guide\n\nShort now: only the zebra crossing rule.\n")
    (source / "notes" / "retention.txt").unlink()
    summary = ingest(source=str(source), knowledge_base="kb2")

    assert (summary.changed, summary.deleted, summary.unchanged) == (1, 1, len(good) - 2)
    after = assert_consistent(backend_settings, "kb2")
    assert "notes/retention.txt" not in after.documents
    assert after.documents["guide.md"][1] == 1 < before.documents["guide.md"][1]
    hits = search("kb2", "zebra crossing rule", k=1, settings=backend_settings)
    assert hits[0].doc_id == "guide.md" and "zebra" in hits[0].text
    gone = search("kb2", good["notes/retention.txt"].phrase, k=5, settings=backend_settings)
    assert all(hit.doc_id != "notes/retention.txt" for hit in gone)


def test_keep_deleted_keeps_documents_gone_from_the_source(settings: Settings, tmp_path: Path) -> None:
    source = tmp_path / "corpus"
    write_good_corpus(source)
    ingest(source=str(source), knowledge_base="kept")
    (source / "guide.md").unlink()

    summary = ingest(source=str(source), knowledge_base="kept", keep_deleted=True)

    assert summary.deleted == 0
    assert "guide.md" in assert_consistent(settings, "kept").documents


def test_new_chunk_settings_re_embed_unchanged_text(settings: Settings, tmp_path: Path) -> None:
    source = tmp_path / "corpus"
    good = write_good_corpus(source)
    first = ingest(source=str(source), knowledge_base="resized")

    smaller = ingest(source=str(source), knowledge_base="resized", chunk_tokens=64, overlap_tokens=8)

    assert smaller.changed == len(good) and smaller.pipeline_version != first.pipeline_version
    assert smaller.total_chunks > first.total_chunks
    assert_consistent(settings, "resized")


def test_chunk_size_beyond_the_model_limit_fails_with_a_clear_error(
    settings: Settings, tmp_path: Path
) -> None:
    source = tmp_path / "corpus"
    write_good_corpus(source)
    with pytest.raises(ValueError, match="at most 254"):
        ingest(source=str(source), knowledge_base="toolong", chunk_tokens=400)


def test_explicit_doc_ids_replace_paths(settings: Settings, tmp_path: Path) -> None:
    source = tmp_path / "corpus"
    write_good_corpus(source)
    ingest(source=str(source), knowledge_base="ids", doc_ids={"guide.md": "HR-001"})
    view = assert_consistent(settings, "ids")
    assert "HR-001" in view.documents and "guide.md" not in view.documents
