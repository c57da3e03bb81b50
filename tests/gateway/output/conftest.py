"""Fixtures of the output policies' tests: the scripted upstream (tests/gateway/output/scripted.py)."""

from __future__ import annotations

from tests.gateway.output.scripted import script

__all__ = ["script"]
