"""Through the ingestion flow (real Prefect test server) and the CLI: a knowledge base ingested before sparse
vectors keeps working, and turning them on re-indexes it through the pipeline version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.ingest import ingest
from genai.cli.main import app
from genai.ingest.versioning import pipeline_version
from genai.settings import get_settings
from genai.stores.vectors import VectorStore
from tests.fixtures.ingest import assert_consistent
from tests.retrieval.corpus import EXACT_DOC, EXACT_QUERY, VIEWS, make_legacy

pytestmark = pytest.mark.usefixtures("prefect_api_url")
runner = CliRunner()


def cli_search(*args: str) -> list[dict[str, object]]:
    result = runner.invoke(app, ["search", "--kb", "views", *args, "--json"])
    assert result.exit_code == 0, result.output
    hits: list[dict[str, object]] = json.loads(result.stdout)
    return hits


def test_legacy_knowledge_base_keeps_working_and_sparse_on_re_indexes_it(
    genai_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "views"
    source.mkdir()
    for doc_id, (_, text) in VIEWS.items():
        (source / doc_id.replace(".md", ".txt")).write_text(text + "\n")
    monkeypatch.setenv("GENAI_RETRIEVAL__SPARSE", "false")
    get_settings.cache_clear()
    first = ingest(source=str(source), knowledge_base="views")
    settings = get_settings()
    # With both index-time choices off the version is the one from before they existed ...
    assert first.pipeline_version == pipeline_version(settings.chunking, settings.embedding)
    make_legacy(settings, "views")  # ... and the collection is as the platform wrote it then.

    again = ingest(source=str(source), knowledge_base="views")
    assert (again.unchanged, again.chunks) == (len(VIEWS), 0)  # no re-index for nothing
    assert cli_search("WAL archiver failed counts", "-k", "1")[0]["doc_id"] == "archiver.txt"
    refused = runner.invoke(app, ["search", "--kb", "views", EXACT_QUERY, "--mode", "sparse"])
    assert refused.exit_code != 0 and "Re-ingest it with retrieval.sparse on" in refused.output

    monkeypatch.delenv("GENAI_RETRIEVAL__SPARSE")  # the default: sparse vectors on
    get_settings.cache_clear()
    third = ingest(source=str(source), knowledge_base="views")

    assert third.changed == len(VIEWS) and third.pipeline_version != first.pipeline_version
    assert_consistent(get_settings(), "views")
    with VectorStore(get_settings().qdrant) as store:
        layout = store.layout("views")
    assert layout is not None and layout.named and layout.sparse
    assert cli_search(EXACT_QUERY, "--mode", "sparse", "-k", "1")[0]["doc_id"] == EXACT_DOC.replace(
        ".md", ".txt"
    )
    documents = cli_search("replication WAL", "--mode", "hybrid", "--documents", "-k", "4")
    assert len({hit["doc_id"] for hit in documents}) == len(documents) == 4
    bad = runner.invoke(app, ["search", "--kb", "views", "q", "--mode", "fuzzy"])
    assert bad.exit_code != 0 and "--mode takes one of dense, sparse, hybrid" in bad.output
    get_settings.cache_clear()
