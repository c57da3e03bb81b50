"""Per-tenant settings: a tenant's tier, its own limits and budget, and what the audit log may keep.

A tenant not listed here gets the defaults (tier ``default``, no tenant-wide limit, no budget, no stored
content, the platform's ``screening`` and ``output`` settings). Keys and tokens name their tenant; these
settings say how it is treated.
"""

from __future__ import annotations

from pydantic import Field

from genai.settings.output import OutputSettings
from genai.settings.screening import ScreeningSettings
from genai.settings.section import SettingsSection


class TenantSettings(SettingsSection):
    """How one tenant is treated."""

    tier: str = Field("default", description="The tier of its OIDC callers (a key carries its own tier).")
    requests_per_minute: int | None = Field(None, ge=1, description="Tenant-wide limit over all its keys.")
    tokens_per_minute: int | None = Field(None, ge=1)
    budget_usd: float | None = Field(None, ge=0, description="Spend per limits.budget_period.")
    store_content: bool = Field(False, description="Keep prompts and answers in the audit log (encrypted).")
    screening: ScreeningSettings | None = Field(None, description="Replaces `screening` for this tenant.")
    output: OutputSettings | None = Field(None, description="Replaces `output` for this tenant.")
    cache: bool = Field(
        True, description="False: this tenant's answers are never cached nor served from cache."
    )
