"""Settings of the gateway's rate-limit and budget policy: reserved until the policy lands."""

from __future__ import annotations

from genai.settings.placeholder import PlaceholderSection


class LimitsSettings(PlaceholderSection):
    """Coming: requests and tokens per minute per key / tenant / tier, spend budgets per period, and
    the backend that counts them (in-process, or Redis shared by every gateway replica)."""
