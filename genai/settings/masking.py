"""Secrets kept out of what the platform shows or hashes: passwords inside URLs, and values under
secret-looking keys. One implementation for `genai config show`, log lines, /readyz and the settings
digest of a registered version."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

SECRET_KEYS = ("password", "secret", "token", "api_key", "apikey")


def mask_url(url: str, mask: str = "****") -> str:
    """``url`` with its password (postgresql+psycopg://user:pw@host/db) replaced by ``mask``."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if not password:
        return url
    netloc = parts.netloc.replace(f":{password}@", f":{mask}@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def mask_secrets(data: Any, key: str = "") -> Any:
    """Plain settings data (``model_dump(mode="json")``) with secret-looking keys' values and passwords
    inside URLs masked."""
    if isinstance(data, dict):
        return {k: mask_secrets(v, k) for k, v in data.items()}
    if isinstance(data, list):
        return [mask_secrets(v, key) for v in data]
    if isinstance(data, str):
        if data and any(marker in key.lower() for marker in SECRET_KEYS):
            return "****"
        if "://" in data:
            return mask_url(data)
    return data
