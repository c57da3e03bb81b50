"""The batch catalog on real databases (SQLite, then PostgreSQL): files with their bytes, batches and their
status moves, tenants kept apart, listings paged newest first."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from genai.batch import catalog
from genai.batch.catalog import BatchStatusError
from genai.batch.filestore import FileNotStored
from genai.batch.records import BatchErrorEntry, RequestCounts
from genai.settings import Settings


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", database_url=database_url)


def test_files_are_stored_listed_and_deleted_per_tenant(settings: Settings) -> None:
    first = catalog.create_file(settings, data=b"one\n", filename="a.jsonl", purpose="batch", tenant="acme")
    second = catalog.create_file(
        settings, data=b"two!\n", filename="b.jsonl", purpose="user_data", tenant="acme"
    )
    other = catalog.create_file(settings, data=b"x", filename="c.jsonl", purpose="batch", tenant="globex")
    assert first.id.startswith("file-") and first.id != second.id
    assert (first.bytes, first.tenant, first.status) == (4, "acme", "processed")
    assert catalog.get_file(settings, first.id) == first
    assert catalog.get_file(settings, first.id, tenant="acme") == first
    assert catalog.get_file(settings, first.id, tenant="globex") is None
    assert catalog.file_content(settings, second.id) == b"two!\n"

    listed = catalog.list_files(settings, "acme")
    assert [f.id for f in listed.data] == [second.id, first.id] and not listed.has_more  # newest first
    assert [f.id for f in catalog.list_files(settings, "acme", purpose="batch").data] == [first.id]
    assert [f.id for f in catalog.list_files(settings, "globex").data] == [other.id]

    assert not catalog.delete_file(settings, first.id, tenant="globex")  # not theirs: nothing happens
    assert catalog.file_content(settings, first.id) == b"one\n"
    assert catalog.delete_file(settings, first.id, tenant="acme")
    assert not catalog.delete_file(settings, first.id)
    assert catalog.get_file(settings, first.id) is None
    with pytest.raises(FileNotStored):
        catalog.file_content(settings, first.id)


def test_listings_page_by_after_cursor(settings: Settings) -> None:
    ids = [
        catalog.create_file(settings, data=b"x", filename=f"{n}.jsonl", purpose="batch", tenant="acme").id
        for n in range(5)
    ]
    newest_first = list(reversed(ids))
    page = catalog.list_files(settings, "acme", limit=2)
    assert [f.id for f in page.data] == newest_first[:2] and page.has_more
    page = catalog.list_files(settings, "acme", limit=2, after=page.data[-1].id)
    assert [f.id for f in page.data] == newest_first[2:4] and page.has_more
    page = catalog.list_files(settings, "acme", limit=2, after=page.data[-1].id)
    assert [f.id for f in page.data] == newest_first[4:] and not page.has_more
    # Another tenant's id, or one that never was, is no cursor: nothing follows it.
    assert catalog.list_files(settings, "globex", after=ids[0]).data == []
    assert catalog.list_files(settings, "acme", after="file-never").data == []

    batches = [
        catalog.create_batch(settings, tenant="acme", input_file_id=ids[0], endpoint="/v1/completions").id
        for _ in range(3)
    ]
    page_of_batches = catalog.list_batches(settings, "acme", limit=2)
    assert [b.id for b in page_of_batches.data] == batches[::-1][:2] and page_of_batches.has_more
    rest = catalog.list_batches(settings, "acme", limit=2, after=page_of_batches.data[-1].id)
    assert [b.id for b in rest.data] == [batches[0]] and not rest.has_more
    assert catalog.list_batches(settings, "globex").data == []


def test_batch_moves_through_its_statuses_with_timestamps(settings: Settings) -> None:
    batch = catalog.create_batch(
        settings,
        tenant="acme",
        input_file_id="file-in",
        endpoint="/v1/chat/completions",
        metadata={"job": "nightly"},
    )
    assert batch.id.startswith("batch_") and batch.status == "validating"
    assert batch.expires_at is not None and (batch.expires_at - batch.created_at).total_seconds() == 86_400
    assert batch.metadata == {"job": "nightly"} and batch.request_counts == RequestCounts()

    running = catalog.update_batch(
        settings, batch.id, status="in_progress", flow_run_id="run-1", request_counts=RequestCounts(total=3)
    )
    assert running.status == "in_progress" and running.in_progress_at is not None
    assert running.flow_run_id == "run-1" and running.request_counts.total == 3
    assert running.completed_at is None
    again = catalog.update_batch(settings, batch.id, status="in_progress")  # same status: stamp kept
    assert again.in_progress_at == running.in_progress_at

    catalog.update_batch(settings, batch.id, status="finalizing")
    done = catalog.update_batch(
        settings,
        batch.id,
        status="completed",
        output_file_id="file-out",
        error_file_id="file-err",
        request_counts=RequestCounts(total=3, completed=2, failed=1),
    )
    assert done.status == "completed" and done.done
    assert done.finalizing_at is not None and done.completed_at is not None
    assert done.in_progress_at is not None and done.in_progress_at <= done.finalizing_at <= done.completed_at
    assert (done.output_file_id, done.error_file_id) == ("file-out", "file-err")
    assert catalog.get_batch(settings, batch.id) == done
    assert catalog.get_batch(settings, batch.id, tenant="globex") is None
    with pytest.raises(BatchStatusError):
        catalog.update_batch(settings, batch.id, status="in_progress")
    with pytest.raises(KeyError):
        catalog.update_batch(settings, "batch_missing", status="failed")
    with pytest.raises(ValueError):
        catalog.update_batch(settings, batch.id, no_such_field=1)


def test_a_cancel_outranks_the_flows_progress(settings: Settings) -> None:
    batch = catalog.create_batch(settings, tenant="acme", input_file_id="file-in", endpoint="/v1/completions")
    assert not catalog.cancel_requested(settings, batch.id)
    cancelling = catalog.update_batch(settings, batch.id, status="cancelling")
    assert cancelling.cancelling_at is not None and catalog.cancel_requested(settings, batch.id)
    # The flow reports progress made before it saw the cancel: the counts land, the status stays.
    late = catalog.update_batch(
        settings, batch.id, status="in_progress", request_counts=RequestCounts(total=4, completed=1)
    )
    assert late.status == "cancelling" and late.request_counts.completed == 1 and late.in_progress_at is None
    cancelled = catalog.update_batch(settings, batch.id, status="cancelled")
    assert cancelled.cancelled_at is not None and catalog.cancel_requested(settings, batch.id)
    assert not catalog.cancel_requested(settings, "batch_missing")


def test_failed_batch_keeps_its_errors(settings: Settings) -> None:
    batch = catalog.create_batch(settings, tenant="acme", input_file_id="file-in", endpoint="/v1/embeddings")
    errors = [BatchErrorEntry(code="service_unavailable", message="Prefect did not answer")]
    failed = catalog.update_batch(settings, batch.id, status="failed", errors=errors)
    assert failed.status == "failed" and failed.failed_at is not None
    assert catalog.get_batch(settings, batch.id).errors == errors  # type: ignore[union-attr]


def test_concurrent_status_updates_leave_one_consistent_row(settings: Settings) -> None:
    """The gateway's cancel and the flow's progress racing: every write lands whole, the cancel wins."""
    batch = catalog.create_batch(settings, tenant="acme", input_file_id="file-in", endpoint="/v1/completions")
    catalog.update_batch(settings, batch.id, status="in_progress")
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def flow() -> None:
        try:
            start.wait()
            for done in range(1, 21):
                catalog.update_batch(
                    settings,
                    batch.id,
                    status="in_progress",
                    request_counts=RequestCounts(total=20, completed=done),
                )
        except BaseException as error:
            errors.append(error)

    def gateway() -> None:
        try:
            start.wait()
            catalog.update_batch(settings, batch.id, status="cancelling")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=flow), threading.Thread(target=gateway)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    final = catalog.get_batch(settings, batch.id)
    assert final is not None and final.status == "cancelling"
    assert final.request_counts == RequestCounts(total=20, completed=20)
