"""Where a registered version came from: the platform's code version and a digest of the settings that made
it, filled in by ``ModelRegistry.register`` when the caller left them empty."""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
from importlib import metadata
from pathlib import Path

from genai.settings import Settings
from genai.settings.masking import mask_secrets

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
    data = mask_secrets(settings.model_dump(mode="json"))
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
