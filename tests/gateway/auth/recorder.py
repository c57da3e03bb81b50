"""A usage sink for the authentication tests: keeps every usage record, so a test can read the tenant,
key prefix and status a request was recorded with."""

from __future__ import annotations

import time

from gateway.policies import Policy, UsageRecord


class Recorder(Policy):
    name = "recorder"

    def __init__(self) -> None:
        self.records: list[UsageRecord] = []

    def record(self, record: UsageRecord) -> None:
        self.records.append(record)

    def of(self, request_id: str, timeout: float = 5.0) -> UsageRecord:
        """The record of ``request_id`` (recorded just after the answer's last byte: waited for)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for record in self.records:
                if record.request_id == request_id:
                    return record
            time.sleep(0.01)
        raise AssertionError(f"no usage record for request {request_id}")
