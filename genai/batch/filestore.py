"""Where batch files live: the bytes of uploaded inputs, results and error files, by file id.

The catalog (``genai.batch.catalog``) keeps what is known about a file (tenant, name, purpose, size); the
store keeps only its bytes, under the file id. Two stores, one protocol:

* ``LocalFileStore``: a folder (``batch.folder``, default ``$GENAI_HOME/files``). A write goes to a temporary
  file in the same folder, is fsync'd, then renamed over the final name, so a reader never sees half a file
  and a crash mid-write leaves only a temporary file behind.
* ``S3FileStore``: an S3-compatible bucket (``batch.s3``). A PUT is atomic on S3 already. boto3 is imported
  when the store is opened (the ``s3`` extra), so the local default never pays for it.

``open_file_store(settings)`` picks one from the settings.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from genai.settings import Settings
    from genai.settings.batch import S3StorageSettings

# File ids are ours (``file-<hex>``), but a store is a path or a key: anything else is refused, so an id
# read from a request can never walk out of the folder or the prefix.
_FILE_ID = re.compile(r"^file-[A-Za-z0-9_-]{1,64}$")


class FileNotStored(KeyError):
    """The store holds no bytes under this id."""


class FileStore(Protocol):
    """The bytes of batch files, by file id."""

    def put(self, file_id: str, data: bytes) -> None: ...

    def get(self, file_id: str) -> bytes: ...

    def delete(self, file_id: str) -> None: ...

    def exists(self, file_id: str) -> bool: ...


def checked_id(file_id: str) -> str:
    """``file_id`` if it is a well-formed file id, else ``ValueError``."""
    if not _FILE_ID.match(file_id):
        raise ValueError(f"not a file id: {file_id!r}")
    return file_id


class LocalFileStore:
    """A folder with one file per id, written atomically (temporary file, fsync, rename)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, file_id: str) -> Path:
        return self.folder / checked_id(file_id)

    def put(self, file_id: str, data: bytes) -> None:
        target = self._path(file_id)
        self.folder.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{file_id}.", suffix=".part", dir=self.folder)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _sync_folder(self.folder)

    def get(self, file_id: str) -> bytes:
        try:
            return self._path(file_id).read_bytes()
        except FileNotFoundError:
            raise FileNotStored(file_id) from None

    def delete(self, file_id: str) -> None:
        self._path(file_id).unlink(missing_ok=True)

    def exists(self, file_id: str) -> bool:
        return self._path(file_id).is_file()


def _sync_folder(folder: Path) -> None:
    # The rename is durable only once the folder's entry is on disk too (a power cut could undo it).
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class S3FileStore:
    """One object per id under ``prefix`` in an S3-compatible bucket."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    @classmethod
    def from_settings(cls, settings: S3StorageSettings) -> S3FileStore:
        """A store with a boto3 client for ``settings`` (credentials from the variables it names)."""
        try:
            import boto3
        except ImportError as error:
            raise RuntimeError(
                "batch.storage is s3 but boto3 is not installed: install genai-platform[s3]"
            ) from error
        client = boto3.client(
            "s3",
            endpoint_url=settings.endpoint_url,
            region_name=settings.region,
            # None lets boto3 look further (its config files, an instance role) when the variable is unset.
            aws_access_key_id=os.environ.get(settings.access_key_env),
            aws_secret_access_key=os.environ.get(settings.secret_key_env),
        )
        return cls(client, settings.bucket, settings.prefix)

    def _key(self, file_id: str) -> str:
        return f"{self.prefix}{checked_id(file_id)}"

    def put(self, file_id: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(file_id), Body=data)

    def get(self, file_id: str) -> bytes:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(file_id))
        except self.client.exceptions.NoSuchKey:
            raise FileNotStored(file_id) from None
        body: bytes = answer["Body"].read()
        return body

    def delete(self, file_id: str) -> None:
        # S3 answers a delete of a missing key with success: deleting twice is fine, as locally.
        self.client.delete_object(Bucket=self.bucket, Key=self._key(file_id))

    def exists(self, file_id: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(file_id))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True


def local_folder(settings: Settings) -> Path:
    """The local store's folder: ``batch.folder``, else ``$GENAI_HOME/files``."""
    return settings.batch.folder or settings.home / "files"


def open_file_store(settings: Settings) -> FileStore:
    """The file store ``settings.batch`` names."""
    batch = settings.batch
    if batch.storage == "s3":
        if batch.s3 is None:
            raise ValueError("batch.storage is s3 but batch.s3 (bucket, endpoint_url...) is not set")
        return S3FileStore.from_settings(batch.s3)
    return LocalFileStore(local_folder(settings))
