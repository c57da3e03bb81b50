"""Where a registered version came from: the platform's code version and a digest of the settings that made
it, filled in by ``ModelRegistry.register`` when the caller left them empty."""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from genai.settings import Settings

_SECRET_MARKERS = ("password", "secret", "token", "api_key", "apikey")
_CHECKOUT = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """The git commit of the checkout the platform runs from (``+dirty`` when it has uncommitted changes),
    else the installed package's version, else ``unknown``."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=_CHECKOUT, capture_output=True, text=True, timeout=5
        )
        if commit.returncode == 0 and commit.stdout.strip():
            dirty = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=_CHECKOUT,
                capture_output=True,
                text=True,
                timeout=5,
            )
            return commit.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass  # no git on this machine: an installed package says its version instead
    try:
        return f"genai-platform=={metadata.version('genai-platform')}"
    except metadata.PackageNotFoundError:
        return "unknown"


def settings_digest(settings: Settings) -> str:
    """sha256 of the settings as canonical JSON, secrets masked: the same settings give the same digest,
    and the digest never leaks a password."""
    data = _masked(settings.model_dump(mode="json"))
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _masked(data: Any, key: str = "") -> Any:
    if isinstance(data, dict):
        return {k: _masked(v, k) for k, v in data.items()}
    if isinstance(data, list):
        return [_masked(v, key) for v in data]
    if isinstance(data, str):
        if data and any(marker in key.lower() for marker in _SECRET_MARKERS):
            return "****"
        if "://" in data:
            return _without_password(data)
    return data


def _without_password(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":****@", 1)))
