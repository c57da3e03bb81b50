"""When a task should retry: only on store errors that a later attempt can fix."""

from __future__ import annotations

from typing import Any


def is_transient_failure(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect ``retry_condition_fn``: retry a failed task only if it failed on a transient store error."""
    from genai.stores.errors import TransientStoreError

    try:
        state.result()
    except TransientStoreError:
        return True
    except Exception:
        return False
    return False


RETRY_DELAYS: list[float] = [1.0, 4.0, 15.0]


# Options of every task that writes to a store: retried on transient store errors only, never cached.
STORE_TASK_OPTIONS: dict[str, Any] = {
    "retries": len(RETRY_DELAYS),
    "retry_delay_seconds": RETRY_DELAYS,
    "retry_condition_fn": is_transient_failure,
}
