"""One behavioural contract, run against every document store backend: SQLite, PostgreSQL, MongoDB.

Everything here talks to a real database: a SQLite file, the PostgreSQL server, a secantusdb server.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pymongo.errors import BulkWriteError, DuplicateKeyError
from sqlalchemy import create_engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from genai.ingest.records import Chunk, DocumentRecord, StoredState
from genai.settings import DocumentStoreSettings, Settings
from genai.stores.documents import DocumentStore, open_document_store
from genai.stores.documents_mongo import MongoDocumentStore
from genai.stores.documents_sql import SqlDocumentStore
from genai.stores.errors import TransientStoreError
from tests.fixtures.services import _free_port, _secantusd, _wait_for_secantusd, service_unavailable

WHEN = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)

BACKENDS = [
    pytest.param("sql-sqlite", id="sql-sqlite"),
    pytest.param("sql-postgres", marks=pytest.mark.postgres, id="sql-postgres"),
    pytest.param("mongodb", marks=pytest.mark.mongodb, id="mongodb"),
]


def _settings(request: pytest.FixtureRequest, home: Path) -> Settings:
    backend = request.param
    if backend == "sql-sqlite":
        return Settings(home=home)
    if backend == "sql-postgres":
        return Settings(home=home, database_url=request.getfixturevalue("clean_postgres_url"))
    documents = DocumentStoreSettings(
        backend="mongodb",
        mongodb_url=request.getfixturevalue("mongodb_url"),
        mongodb_database=request.getfixturevalue("mongodb_database"),
    )
    return Settings(home=home, document_store=documents)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, genai_home: Path) -> Iterator[DocumentStore]:
    """A store opened the way the platform opens it: from settings."""
    settings = _settings(request, genai_home)
    opened = open_document_store(settings.document_store, settings.sql_url)
    expected = MongoDocumentStore if request.param == "mongodb" else SqlDocumentStore
    assert isinstance(opened, expected)
    assert isinstance(opened, DocumentStore)
    yield opened
    opened.close()
    if request.param == "sql-sqlite":
        from genai.db import dispose_engine

        dispose_engine(settings.sql_url)


def doc(
    doc_id: str, chunks: int, content_hash: str = "h1", version: str = "v1", kb: str = "kb1"
) -> tuple[DocumentRecord, list[Chunk]]:
    """A document record and its chunks, with texts that name the hash so stale chunks are visible."""
    made = [
        Chunk(
            doc_id=doc_id,
            chunk_no=n,
            text=f"{doc_id} [{content_hash}] chunk {n}: naïve café ✓",
            start=n * 100,
            end=n * 100 + 90,
            token_count=20 + n,
            heading_path=["Guide", f"Section {n}"],
        )
        for n in range(chunks)
    ]
    record = DocumentRecord(
        kb=kb,
        doc_id=doc_id,
        source=doc_id,
        title=f"Title of {doc_id}",
        type="markdown",
        size_bytes=1000 + chunks,
        modified=WHEN - timedelta(days=1),
        content_hash=content_hash,
        pipeline_version=version,
        chunk_count=chunks,
        token_count=sum(chunk.token_count for chunk in made),
        ingested_at=WHEN,
    )
    return record, made


def test_replaced_documents_read_back_exactly(store: DocumentStore) -> None:
    a, b = doc("a.md", 3), doc("notes/b.txt", 1, content_hash="hb", version="v2")
    store.replace_documents("kb1", [b, a])

    assert store.get_document("kb1", "a.md") == a[0]
    assert store.get_chunks("kb1", "a.md") == a[1]
    assert store.get_chunks("kb1", "notes/b.txt") == b[1]
    assert store.list_documents("kb1") == [a[0], b[0]]
    assert store.count_chunks("kb1") == 4
    assert store.stored_states("kb1") == {
        "a.md": StoredState(content_hash="h1", pipeline_version="v1"),
        "notes/b.txt": StoredState(content_hash="hb", pipeline_version="v2"),
    }
    assert store.knowledge_bases() == ["kb1"]


def test_an_empty_store_answers_empty(store: DocumentStore) -> None:
    assert store.stored_states("kb1") == {}
    assert store.get_document("kb1", "a.md") is None
    assert store.get_chunks("kb1", "a.md") == []
    assert store.list_documents("kb1") == []
    assert store.count_chunks("kb1") == 0
    assert store.knowledge_bases() == []
    assert store.delete_documents("kb1", ["a.md"]) == 0
    assert store.delete_documents("kb1", []) == 0
    store.replace_documents("kb1", [])


def test_replacing_with_fewer_chunks_leaves_no_stale_chunk(store: DocumentStore) -> None:
    store.replace_documents("kb1", [doc("a.md", 5), doc("b.md", 2)])
    shorter = doc("a.md", 2, content_hash="h2")
    store.replace_documents("kb1", [shorter])

    assert store.get_chunks("kb1", "a.md") == shorter[1]
    assert store.get_document("kb1", "a.md") == shorter[0]
    assert store.count_chunks("kb1") == 4
    assert store.stored_states("kb1")["a.md"].content_hash == "h2"
    assert store.get_chunks("kb1", "b.md") == doc("b.md", 2)[1]  # untouched neighbour


def test_a_document_may_have_no_chunks(store: DocumentStore) -> None:
    store.replace_documents("kb1", [doc("a.md", 3)])
    store.replace_documents("kb1", [doc("a.md", 0, content_hash="empty")])
    assert store.get_chunks("kb1", "a.md") == []
    assert store.stored_states("kb1")["a.md"].content_hash == "empty"


def test_replaying_a_batch_changes_nothing(store: DocumentStore) -> None:
    batch = [doc("a.md", 3), doc("b.md", 2)]
    store.replace_documents("kb1", batch)
    store.replace_documents("kb1", batch)
    assert store.count_chunks("kb1") == 5
    assert store.list_documents("kb1") == [record for record, _ in batch]


def test_delete_removes_records_and_chunks(store: DocumentStore) -> None:
    store.replace_documents("kb1", [doc("a.md", 3), doc("b.md", 2), doc("c.md", 1)])
    assert store.delete_documents("kb1", ["a.md", "c.md", "never-stored.md"]) == 2

    assert [record.doc_id for record in store.list_documents("kb1")] == ["b.md"]
    assert store.get_chunks("kb1", "a.md") == []
    assert store.count_chunks("kb1") == 2
    assert set(store.stored_states("kb1")) == {"b.md"}


def test_knowledge_bases_are_isolated(store: DocumentStore) -> None:
    store.replace_documents("kb1", [doc("same.md", 2, content_hash="one", kb="kb1")])
    store.replace_documents(
        "kb2", [doc("same.md", 4, content_hash="two", kb="kb2"), doc("x.md", 1, kb="kb2")]
    )
    assert store.knowledge_bases() == ["kb1", "kb2"]

    store.replace_documents("kb1", [doc("same.md", 1, content_hash="three", kb="kb1")])
    assert store.get_chunks("kb2", "same.md") == doc("same.md", 4, content_hash="two", kb="kb2")[1]
    assert store.stored_states("kb2")["same.md"].content_hash == "two"

    assert store.delete_documents("kb1", ["same.md", "x.md"]) == 1
    assert store.count_chunks("kb2") == 5
    assert store.knowledge_bases() == ["kb2"]


def test_a_failed_batch_leaves_every_record_as_it_was(store: DocumentStore) -> None:
    """The record is the commit marker: when a batch dies part-way, no document claims the new hash, so
    the next run redoes all of them; redoing them then leaves exactly the new state."""
    store.replace_documents("kb1", [doc("a.md", 3)])
    before = store.stored_states("kb1")
    broken_record, broken_chunks = doc("b.md", 2, content_hash="h2")
    broken_chunks[1] = broken_chunks[1].model_copy(update={"chunk_no": 0})  # duplicate key in the store
    new_a = doc("a.md", 2, content_hash="h2")

    with pytest.raises((IntegrityError, BulkWriteError)):
        store.replace_documents("kb1", [new_a, (broken_record, broken_chunks)])
    assert store.stored_states("kb1") == before
    assert store.get_document("kb1", "a.md") == doc("a.md", 3)[0]
    assert store.get_document("kb1", "b.md") is None

    fixed_b = doc("b.md", 2, content_hash="h2")
    store.replace_documents("kb1", [new_a, fixed_b])
    assert store.get_chunks("kb1", "a.md") == new_a[1]
    assert store.get_chunks("kb1", "b.md") == fixed_b[1]
    assert store.count_chunks("kb1") == 4


def test_batches_that_contradict_themselves_are_refused_before_writing(store: DocumentStore) -> None:
    record, chunks = doc("a.md", 2)
    stranger = doc("b.md", 1)[1]
    bad_batches = [
        [doc("a.md", 1, kb="kb2")],
        [(record, chunks + stranger)],
        [doc("a.md", 1), doc("a.md", 2)],
    ]
    for batch in bad_batches:
        with pytest.raises(ValueError):
            store.replace_documents("kb1", batch)
    assert store.knowledge_bases() == []
    assert store.count_chunks("kb1") == 0


def test_timestamps_come_back_in_utc(store: DocumentStore) -> None:
    record, chunks = doc("a.md", 1)
    local = timezone(timedelta(hours=-5))
    record = record.model_copy(
        update={"modified": None, "ingested_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=local)}
    )
    store.replace_documents("kb1", [(record, chunks)])
    stored = store.get_document("kb1", "a.md")
    assert stored is not None
    assert stored.modified is None
    assert stored.ingested_at == record.ingested_at
    assert stored.ingested_at.utcoffset() == timedelta(0)


def test_large_batches(store: DocumentStore) -> None:
    """More documents than one SQL statement binds at a time, written, read and deleted in one call each."""
    batch = [doc(f"docs/{n:04d}.md", 2) for n in range(620)]
    store.replace_documents("kb1", batch)
    assert len(store.stored_states("kb1")) == 620
    assert store.count_chunks("kb1") == 1240
    assert store.delete_documents("kb1", [record.doc_id for record, _ in batch[:610]]) == 610
    assert store.count_chunks("kb1") == 20


def test_unreachable_postgres_is_a_transient_error() -> None:
    with pytest.raises(TransientStoreError):
        SqlDocumentStore("postgresql+psycopg://postgres@127.0.0.1:1/genai?connect_timeout=2")


def test_unreachable_mongodb_is_a_transient_error() -> None:
    with pytest.raises(TransientStoreError):
        MongoDocumentStore("mongodb://127.0.0.1:1/", server_selection_timeout_ms=300)


@pytest.mark.postgres
def test_postgres_store_survives_its_connections_being_killed(clean_postgres_url: str) -> None:
    """A restarted server or a proxy dropping idle connections: pooled connections are re-checked."""
    store = SqlDocumentStore(clean_postgres_url)
    store.replace_documents("kb1", [doc("a.md", 2)])
    admin = create_engine(clean_postgres_url, poolclass=NullPool)
    with admin.begin() as connection:
        connection.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    admin.dispose()
    assert store.count_chunks("kb1") == 2


@pytest.mark.mongodb
def test_mongodb_enforces_its_unique_keys(mongodb_url: str, mongodb_database: str) -> None:
    store = MongoDocumentStore(mongodb_url, mongodb_database)
    try:
        store.replace_documents("kb1", [doc("a.md", 1)])
        collection = store._chunks  # the raw collection: the index, not the store's code, must refuse
        with pytest.raises(DuplicateKeyError):
            collection.insert_one({"kb": "kb1", "doc_id": "a.md", "chunk_no": 0, "text": "again"})
        with pytest.raises(DuplicateKeyError):
            store._documents.insert_one({"kb": "kb1", "doc_id": "a.md"})
    finally:
        store.close()


@pytest.mark.mongodb
def test_mongodb_server_going_away_is_a_transient_error(tmp_path: Path) -> None:
    executable = _secantusd()
    if executable is None:
        service_unavailable("secantusd-py (pip install secantusdb) is not installed")
    port = _free_port()
    log = tmp_path / "secantusd.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [executable, "--host", "127.0.0.1", "--port", str(port), "--storage-path", ":memory:"],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    url = f"mongodb://127.0.0.1:{port}/"
    try:
        _wait_for_secantusd(process, url, log)
        store = MongoDocumentStore(url, "genai", server_selection_timeout_ms=500)
        store.replace_documents("kb1", [doc("a.md", 1)])
        process.kill()
        process.wait()
        with pytest.raises(TransientStoreError):
            store.stored_states("kb1")
        store.close()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
