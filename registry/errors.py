"""The registry's errors: each names what was asked for and what exists, so a CLI or an API can say what
to fix."""

from __future__ import annotations


class RegistryError(Exception):
    """Base of the registry's errors."""


class InvalidModelRefError(RegistryError, ValueError):
    """A model reference that is not NAME, NAME@ALIAS or NAME/VERSION."""


class UnknownModelError(RegistryError, LookupError):
    """No registered model has that name."""


class UnknownVersionError(RegistryError, LookupError):
    """The model has no such version."""


class UnknownAliasError(RegistryError, LookupError):
    """The model has no version under that alias (or the alias is not one the platform uses)."""


class RegistryUnavailableError(RegistryError, ConnectionError):
    """The tracking server or database could not be reached."""
