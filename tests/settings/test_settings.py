"""The settings package: every section reachable from the YAML file and from GENAI_* variables, reserved
sections that refuse values, and the names importable from genai.settings before it became a package."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from genai.settings import PlaceholderSection, Settings, SettingsSection

# One field per section with a value unlike its default: (section, field, value as written, value parsed).
SECTION_FIELDS: list[tuple[str, str, str, Any]] = [
    ("embedding", "batch_size", "16", 16),
    ("chunking", "chunk_tokens", "128", 128),
    ("ingest", "batch_documents", "7", 7),
    ("document_store", "mongodb_database", "kb_docs", "kb_docs"),
    ("qdrant", "collection_prefix", "t_", "t_"),
    ("prefect", "port", "4300", 4300),
    ("gateway", "port", "8100", 8100),
    ("registry", "poll_seconds", "5", 5.0),
    ("auth", "key_cache_seconds", "7", 7.0),
    ("limits", "budget_period", "day", "day"),
    ("accounting", "batch_size", "50", 50),
    ("screening", "injection", "block", "block"),
    ("output", "deny_action", "block", "block"),
    ("cache", "l1_ttl_seconds", "60", 60.0),
    ("reports", "top_n", "5", 5),
    ("batch", "concurrency", "4", 4),
    ("retrieval", "mode", "sparse", "sparse"),
]
# Sections reserved for a coming feature (a PlaceholderSection); none today.
RESERVED_SECTIONS: list[str] = []
TOP_LEVEL_FIELDS = [
    ("database_url", "postgresql+psycopg://app@db:5432/genai"),
    ("redis_url", "redis://cache:6379/0"),
    ("mlflow_tracking_uri", "http://mlflow:5000"),
]


def _sections() -> set[str]:
    return {
        name
        for name, field in Settings.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
    }


def test_every_section_is_covered_by_these_tests() -> None:
    # A new section must get a row above (or be reserved), so that its reachability is tested too.
    assert _sections() == {row[0] for row in SECTION_FIELDS} | set(RESERVED_SECTIONS)


@pytest.mark.parametrize(("section", "field", "raw", "parsed"), SECTION_FIELDS)
def test_section_field_from_the_environment(
    genai_home: Path, monkeypatch: pytest.MonkeyPatch, section: str, field: str, raw: str, parsed: Any
) -> None:
    monkeypatch.setenv(f"GENAI_{section.upper()}__{field.upper()}", raw)
    assert getattr(getattr(Settings(), section), field) == parsed


@pytest.mark.parametrize(("section", "field", "raw", "parsed"), SECTION_FIELDS)
def test_section_field_from_the_yaml_file(
    genai_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    section: str,
    field: str,
    raw: str,
    parsed: Any,
) -> None:
    config = tmp_path / "genai.yaml"
    config.write_text(f"{section}:\n  {field}: {raw}\n")
    monkeypatch.setenv("GENAI_CONFIG", str(config))
    assert getattr(getattr(Settings(), section), field) == parsed


@pytest.mark.parametrize(("field", "value"), TOP_LEVEL_FIELDS)
def test_shared_store_urls_from_the_environment_and_the_yaml_file(
    genai_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str, value: str
) -> None:
    config = tmp_path / "genai.yaml"
    config.write_text(f"{field}: {value}\n")
    monkeypatch.setenv("GENAI_CONFIG", str(config))
    assert getattr(Settings(), field) == value
    monkeypatch.setenv(f"GENAI_{field.upper()}", value + "x")
    assert getattr(Settings(), field) == value + "x"


def test_nested_gateway_sections_from_the_environment(
    genai_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GENAI_GATEWAY__RETRY__ATTEMPTS", "5")
    monkeypatch.setenv("GENAI_GATEWAY__BREAKER__OPEN_SECONDS", "3.5")
    gateway = Settings().gateway
    assert gateway.retry.attempts == 5 and gateway.breaker.open_seconds == 3.5


@pytest.mark.parametrize("section", [row[0] for row in SECTION_FIELDS])
def test_misspelt_field_of_a_section_is_refused_not_ignored(
    genai_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, section: str
) -> None:
    monkeypatch.setenv(f"GENAI_{section.upper()}__NO_SUCH_FIELD", "1")
    with pytest.raises(ValidationError, match=rf"{section}\.no_such_field"):
        Settings()
    monkeypatch.delenv(f"GENAI_{section.upper()}__NO_SUCH_FIELD")
    config = tmp_path / "genai.yaml"
    config.write_text(f"{section}:\n  no_such_field: 1\n")
    monkeypatch.setenv("GENAI_CONFIG", str(config))
    with pytest.raises(ValidationError, match=rf"{section}\.no_such_field"):
        Settings()


def test_misspelt_field_deep_in_the_gateway_section_is_refused(
    genai_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GENAI_GATEWAY__RETRY__ATTEMPT", "5")
    with pytest.raises(ValidationError, match=r"gateway\.retry\.attempt"):
        Settings()


def test_every_section_model_refuses_unknown_fields() -> None:
    loose = [
        name
        for name in sorted(_sections())
        if not issubclass(Settings.model_fields[name].annotation, SettingsSection)  # type: ignore[arg-type]
    ]
    assert loose == []


class _ComingSection(PlaceholderSection):
    """A section reserved for a feature that has not landed."""


def test_reserved_section_is_empty_and_refuses_any_value() -> None:
    # auth.enabled=true must not be silently ignored while the feature does not exist.
    assert _ComingSection().model_dump() == {}
    with pytest.raises(ValidationError, match="enabled"):
        _ComingSection.model_validate({"enabled": True})


def test_unknown_top_level_setting_is_refused(
    genai_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "genai.yaml"
    config.write_text("gatway:\n  port: 8100\n")
    monkeypatch.setenv("GENAI_CONFIG", str(config))
    with pytest.raises(ValidationError, match="gatway"):
        Settings()


# Every public name the genai.settings module and its gateway companion module offered before the package.
OLD_SETTINGS_NAMES = [
    "PIPELINE_SCHEMA",
    "ChunkingSettings",
    "DocumentStoreSettings",
    "EmbeddingSettings",
    "GatewaySettings",
    "IngestSettings",
    "PrefectSettings",
    "QdrantSettings",
    "Settings",
    "get_settings",
]
OLD_GATEWAY_NAMES = [
    "BreakerSettings",
    "GatewaySettings",
    "ModelRoute",
    "RetrySettings",
    "RouteTarget",
    "UpstreamSettings",
]


def test_names_importable_before_the_split_still_are() -> None:
    settings = importlib.import_module("genai.settings")
    gateway = importlib.import_module("genai.settings.gateway")
    missing = [name for name in OLD_SETTINGS_NAMES + OLD_GATEWAY_NAMES if not hasattr(settings, name)]
    missing += [name for name in OLD_GATEWAY_NAMES if not hasattr(gateway, name)]
    assert missing == []
    assert settings.GatewaySettings is gateway.GatewaySettings
    assert set(settings.__all__) >= set(OLD_SETTINGS_NAMES + OLD_GATEWAY_NAMES)
