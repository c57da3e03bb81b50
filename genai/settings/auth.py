"""Settings of the gateway's authentication policy: reserved until the policy lands."""

from __future__ import annotations

from genai.settings.placeholder import PlaceholderSection


class AuthSettings(PlaceholderSection):
    """Coming: whether requests need a key, where API keys are stored (hashed, in the SQL database),
    and the OIDC issuer and audience for bearer tokens."""
