"""Shard selection and the rules of a shard run: stable across processes, a partition of the source, and
a shard run that deletes nothing (only the parent, which sees the whole source, may)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from genai.ingest.records import SourceFile
from genai.ingest.request import IngestRequest
from genai.ingest.shard_summary import ShardedSummary, ShardOutcome
from genai.ingest.shards import ShardSpec, select_shard, shard_of, shard_sizes
from genai.settings import Settings

IDS = [f"folder-{n % 7}/doc-{n:04d}.md" for n in range(1000)]


def _files(ids: list[str]) -> list[SourceFile]:
    return [SourceFile(doc_id=i, path=f"/src/{i}", source=i, type="markdown", size_bytes=1) for i in ids]


def test_shards_are_the_same_in_another_process_with_another_hash_seed() -> None:
    code = "import json, sys; from genai.ingest.shards import shard_of; "
    code += "print(json.dumps([shard_of(i, 4) for i in json.loads(sys.stdin.read())]))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    other = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(IDS),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(other.stdout) == [shard_of(i, 4) for i in IDS]


def test_the_shards_partition_the_source_in_about_equal_parts() -> None:
    files = _files(IDS)
    parts = [select_shard(files, ShardSpec(index=i, count=4)) for i in range(4)]

    assert sorted(f.doc_id for part in parts for f in part) == sorted(IDS)  # each file exactly once
    assert [len(part) for part in parts] == shard_sizes(files, 4)
    assert all(200 <= len(part) <= 300 for part in parts), [len(part) for part in parts]
    assert select_shard(files, ShardSpec()) == files  # one shard: the whole source


def test_a_shard_index_out_of_range_is_refused() -> None:
    with pytest.raises(ValidationError, match="out of range"):
        IngestRequest(source="/src", knowledge_base="kb", shard_index=2, shard_count=2)
    assert (
        IngestRequest(source="/src", knowledge_base="kb", shard_index=1, shard_count=2).shard.label()
        == "2-of-2"
    )


def test_the_summary_names_the_shards_that_did_not_finish() -> None:
    summary = ShardedSummary(
        run_id="parent",
        kb="kb",
        source="/src",
        shard_count=2,
        deployment="ingest/ingest",
        shards=[
            ShardOutcome(index=0, label="1-of-2", documents=3, flow_run_id="a", state="COMPLETED"),
            ShardOutcome(index=1, label="2-of-2", documents=4, flow_run_id="b", state="CRASHED"),
        ],
    )
    assert [shard.label for shard in summary.unfinished()] == ["2-of-2"]
    assert "Not finished: 2-of-2 (CRASHED)" in summary.to_markdown()


@pytest.mark.usefixtures("prefect_api_url")
def test_a_shard_run_deletes_no_document_it_does_not_see(settings: Settings, tmp_path: Path) -> None:
    from flows.ingest import ingest

    source = tmp_path / "corpus"
    source.mkdir()
    names = [f"note-{n}.md" for n in range(6)]
    for n, name in enumerate(names):
        (source / name).write_text(f"# Note {n}\n\nThe warehouse dispatch note number {n} for pallets.\n")
    ingest(source=str(source), knowledge_base="shards")
    gone = next(name for name in names if shard_of(name, 2) == 0)
    (source / gone).unlink()

    other_shard = ingest(source=str(source), knowledge_base="shards", shard_index=1, shard_count=2)
    own_shard = ingest(source=str(source), knowledge_base="shards", shard_index=0, shard_count=2)

    assert other_shard.seen == sum(shard_of(name, 2) == 1 for name in names)
    assert other_shard.deleted == own_shard.deleted == 0  # gone, but only the parent may delete it
    assert own_shard.total_chunks == len(names)  # still stored: one chunk per note
    whole = ingest(source=str(source), knowledge_base="shards")
    assert whole.deleted == 1
