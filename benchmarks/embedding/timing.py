"""The benchmark's clock: warm-up passes, then timed passes, the device synchronized around each."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class Clock:
    """Times a callable after warm-up, synchronizing the device before each clock read."""

    def __init__(self, device: str, repeat: int, warmup: int) -> None:
        self.device = device
        self.repeat = repeat
        self.warmup = warmup

    def sync(self) -> None:
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.synchronize()

    def time(self, fn: Callable[[], Any]) -> list[float]:
        for _ in range(self.warmup):
            fn()
        seconds = []
        for _ in range(self.repeat):
            self.sync()
            start = time.perf_counter()
            fn()
            self.sync()
            seconds.append(time.perf_counter() - start)
        return seconds
