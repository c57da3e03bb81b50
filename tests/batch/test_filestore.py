"""The batch file stores: a local folder (atomic writes) and an S3-compatible bucket.

No S3 server installs here, so the S3 store runs against moto's S3 server (``ThreadedMotoServer``: real
HTTP, real S3 wire protocol, started on 127.0.0.1) as a stand-in for the production object store; those
tests say ``moto_standin`` in their names. boto3 itself is the real client.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from genai.batch.filestore import (
    FileNotStored,
    FileStore,
    LocalFileStore,
    S3FileStore,
    local_folder,
    open_file_store,
)
from genai.settings import Settings
from genai.settings.batch import BatchSettings, S3StorageSettings
from tests.fixtures.gateway import free_port

BUCKET = "genai-batch-test"


def _round_trip(store: FileStore) -> None:
    assert not store.exists("file-abc")
    with pytest.raises(FileNotStored):
        store.get("file-abc")
    store.put("file-abc", b'{"a": 1}\n')
    assert store.exists("file-abc")
    assert store.get("file-abc") == b'{"a": 1}\n'
    store.put("file-abc", b"replaced")  # a second put replaces the bytes whole
    assert store.get("file-abc") == b"replaced"
    store.put("file-empty", b"")
    assert store.get("file-empty") == b""
    store.delete("file-abc")
    store.delete("file-abc")  # deleting what is gone is no error
    assert not store.exists("file-abc")
    with pytest.raises(FileNotStored):
        store.get("file-abc")
    for bad in ("../etc/passwd", "file-../../x", "batch_1", ""):
        with pytest.raises(ValueError):
            store.put(bad, b"x")


def test_local_store_round_trip(tmp_path: Path) -> None:
    _round_trip(LocalFileStore(tmp_path / "files"))


def test_local_store_write_is_atomic_and_leaves_no_temporary_file(tmp_path: Path, monkeypatch: Any) -> None:
    store = LocalFileStore(tmp_path)
    store.put("file-1", b"old")

    def failing_replace(*_: Any) -> None:
        raise OSError("disk went away")

    # A write that fails before the rename leaves the old bytes whole and no temporary file behind.
    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk went away"):
        store.put("file-1", b"new bytes")
    monkeypatch.undo()
    assert store.get("file-1") == b"old"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["file-1"]


def test_open_file_store_follows_the_settings(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    store = open_file_store(settings)
    assert isinstance(store, LocalFileStore)
    assert store.folder == tmp_path / "files" == local_folder(settings)
    elsewhere = Settings(home=tmp_path, batch=BatchSettings(folder=tmp_path / "elsewhere"))
    assert open_file_store(elsewhere).folder == tmp_path / "elsewhere"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match=r"batch\.s3"):
        open_file_store(Settings(home=tmp_path, batch=BatchSettings(storage="s3")))


@pytest.fixture(scope="module")
def moto_s3_url() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1 (a stand-in for MinIO or S3), with one bucket."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        client = boto3.client(
            "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
        )
        client.create_bucket(Bucket=BUCKET)
        yield url
    finally:
        server.stop()


def test_s3_store_round_trip_on_moto_standin(
    moto_s3_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_S3_KEY", "test-key")
    monkeypatch.setenv("TEST_S3_SECRET", "test-secret")
    s3 = S3StorageSettings(
        bucket=BUCKET,
        prefix="tenant-files/",
        endpoint_url=moto_s3_url,
        region="us-east-1",
        access_key_env="TEST_S3_KEY",
        secret_key_env="TEST_S3_SECRET",
    )
    store = open_file_store(Settings(home=tmp_path, batch=BatchSettings(storage="s3", s3=s3)))
    assert isinstance(store, S3FileStore)
    _round_trip(store)
    store.put("file-kept", b"payload")
    keys = [item["Key"] for item in store.client.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == ["tenant-files/file-empty", "tenant-files/file-kept"]  # under the prefix, by id
    assert store.client.get_object(Bucket=BUCKET, Key="tenant-files/file-kept")["Body"].read() == b"payload"


def test_s3_store_reports_a_missing_bucket_on_moto_standin(
    moto_s3_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    s3 = S3StorageSettings(bucket="no-such-bucket", endpoint_url=moto_s3_url, region="us-east-1")
    store = S3FileStore.from_settings(s3)
    with pytest.raises(ClientError):
        store.put("file-1", b"x")
