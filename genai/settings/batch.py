"""Settings of batch serving (flows/serve_batch.py, /v1/files, /v1/batches): reserved until it lands."""

from __future__ import annotations

from genai.settings.placeholder import PlaceholderSection


class BatchSettings(PlaceholderSection):
    """Coming: where uploaded request files and results are kept, the largest file accepted, and the
    concurrency of requests against the workers."""
