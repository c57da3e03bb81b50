"""``ModelRegistry`` against a real MLflow registry on SQLite: registering each kind, immutable versions,
aliases, promotion and rollback, snapshots, and the errors for what does not exist."""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path

import pytest
from mlflow import MlflowClient

from genai.settings import Settings
from registry.client import REGISTRATION_EXPERIMENT, ModelRegistry
from registry.errors import (
    InvalidModelRefError,
    RegistryError,
    UnknownAliasError,
    UnknownModelError,
    UnknownVersionError,
)
from registry.provenance import code_version
from registry.refs import parse_ref
from registry.spec import ModelSpec
from tests.registry.specs import extractive_spec, openai_spec, vllm_spec


@pytest.mark.parametrize("spec", [vllm_spec(), openai_spec(), extractive_spec()], ids=lambda s: s.kind)
def test_each_kind_registers_with_its_spec_run_and_provenance(
    registry: ModelRegistry, tracking_uri: str, spec: ModelSpec
) -> None:
    entry = registry.register("qa", spec, description="answers questions", created_by="ana")
    assert (entry.name, entry.version, entry.ref, entry.aliases) == ("qa", 1, "qa/1", ())
    assert entry.spec.kind == spec.kind and entry.spec.served_model == spec.served_model
    assert entry.spec.provenance.code_version == code_version() != "unknown"
    assert entry.spec.provenance.settings_digest == "d" * 64
    assert entry.spec.provenance.created_by == "ana"
    assert entry.tags["genai.kind"] == spec.kind
    assert entry.tags["genai.spec_sha256"] == entry.spec.digest()

    # What MLflow itself holds: the model, the version's tags, and the registration run it links to.
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    assert client.get_registered_model("qa").description == "answers questions"
    version = client.get_model_version("qa", "1")
    assert ModelSpec.model_validate_json(version.tags["genai.spec"]) == entry.spec
    run = client.get_run(str(version.run_id))
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == REGISTRATION_EXPERIMENT
    assert run.info.status == "FINISHED" and run.data.tags["genai.model_version"] == "qa/1"
    assert run.data.params["kind"] == spec.kind
    assert run.data.params["provenance.created_by"] == "ana"
    assert version.source == run.info.artifact_uri
    artifact = Path(client.download_artifacts(run.info.run_id, "spec.json"))
    assert ModelSpec.model_validate(json.loads(artifact.read_text())) == entry.spec


def test_spec_params_flatten_nested_fields(registry: ModelRegistry, tracking_uri: str) -> None:
    registry.register("chat", vllm_spec())
    registry.register("base", extractive_spec("docs"))
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    chat = client.get_run(str(client.get_model_version("chat", "1").run_id)).data.params
    assert chat["price.per_gpu_second"] == "0.0004"
    assert json.loads(chat["vllm_args"]) == ["--dtype", "float32", "--max-model-len", "512"]
    assert json.loads(chat["workers"]) == ["http://127.0.0.1:8101", "http://127.0.0.1:8102"]
    assert "retrieval" not in chat and "base_url" not in chat  # None is left out
    base = client.get_run(str(client.get_model_version("base", "1").run_id)).data.params
    assert (base["retrieval.knowledge_base"], base["retrieval.k"]) == ("docs", "3")


def test_versions_number_up_and_are_immutable(registry: ModelRegistry) -> None:
    registry.register("qa", extractive_spec())
    second = registry.register("qa", vllm_spec())
    assert second.version == 2
    for key in ("genai.spec", "genai.spec_sha256", "genai.kind", "genai.code_version"):
        with pytest.raises(RegistryError, match="immutable"):
            registry.set_tags("qa", 2, {key: "x"})
    registry.set_tags("qa", 2, {"genai.eval.abc123.token_f1": "0.5", "genai.promotion": "refused: f1"})
    entry = registry.version("qa", 2)
    assert entry.spec == second.spec
    assert entry.tags["genai.eval.abc123.token_f1"] == "0.5"
    assert entry.tags["genai.promotion"] == "refused: f1"
    assert "genai.spec" not in entry.tags  # the spec is entry.spec, not repeated among the tags


def test_provenance_given_by_the_caller_is_kept(registry: ModelRegistry) -> None:
    given = vllm_spec().provenance.model_copy(update={"code_version": "v9", "created_by": "ci"})
    spec = vllm_spec().model_copy(update={"provenance": given})
    entry = registry.register("qa", spec, created_by="someone-else")
    assert (entry.spec.provenance.code_version, entry.spec.provenance.created_by) == ("v9", "ci")


def test_from_settings_uses_the_tracking_uri_and_home_artifacts(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    registry = ModelRegistry.from_settings(settings)
    assert registry.tracking_uri == f"sqlite:///{tmp_path / 'home' / 'mlflow.db'}"
    assert registry.artifact_root == str(tmp_path / "home" / "mlartifacts")
    entry = registry.register("qa", extractive_spec())
    assert len(entry.spec.provenance.settings_digest) == 64
    assert any((tmp_path / "home" / "mlartifacts" / REGISTRATION_EXPERIMENT).rglob("spec.json"))
    # A tracking server keeps its own artifact root unless the settings name one.
    served = Settings(home=tmp_path / "home", mlflow_tracking_uri="http://127.0.0.1:5000")
    assert ModelRegistry.from_settings(served).artifact_root is None


def test_aliases_promote_and_rollback_move_as_documented(registry: ModelRegistry) -> None:
    for spec in (extractive_spec(), vllm_spec(), openai_spec()):
        registry.register("qa", spec)
    first = registry.promote("qa", 1)
    assert first.moves() == {"champion": (None, 1)}
    registry.set_alias("qa", "challenger", 2)
    move = registry.promote("qa", 2)
    assert move.before == {"champion": 1, "challenger": 2}
    assert move.after == {"champion": 2, "previous-champion": 1}
    assert move.moves() == {"champion": (1, 2), "challenger": (2, None), "previous-champion": (None, 1)}
    assert registry.resolve("qa").version == 2
    assert registry.resolve("qa@previous-champion").version == 1
    assert registry.version("qa", 2).aliases == ("champion",)

    again = registry.promote("qa", 2)
    assert not again.changed

    back = registry.rollback("qa")
    assert back.after == {"champion": 1}
    assert registry.version("qa", 2).tags["genai.rollback"] == "demoted: qa/1 restored as champion"
    with pytest.raises(UnknownAliasError, match="no previous-champion to roll back to"):
        registry.rollback("qa")

    deleted = registry.delete_alias("qa", "champion")
    assert deleted.after == {}
    with pytest.raises(UnknownAliasError, match="has no champion"):
        registry.resolve("qa")


def test_unknown_names_versions_and_aliases_are_clear_errors(registry: ModelRegistry) -> None:
    registry.register("qa", extractive_spec())
    with pytest.raises(UnknownModelError, match="no registered model 'nope'"):
        registry.model("nope")
    with pytest.raises(UnknownModelError):
        registry.resolve("nope@challenger")
    with pytest.raises(UnknownVersionError, match=r"no version 7 \(versions: 1\)"):
        registry.version("qa", 7)
    with pytest.raises(UnknownVersionError):
        registry.promote("qa", 7)
    with pytest.raises(UnknownVersionError):
        registry.set_tags("qa", 7, {"a": "b"})
    with pytest.raises(UnknownAliasError, match="has no challenger"):
        registry.resolve("qa@challenger")
    with pytest.raises(UnknownAliasError, match="not an alias the platform uses"):
        registry.set_alias("qa", "production", 1)
    with pytest.raises(UnknownAliasError, match="has no champion"):
        registry.delete_alias("qa", "champion")
    with pytest.raises(InvalidModelRefError):
        registry.resolve("qa@@x")
    with pytest.raises(InvalidModelRefError, match="not a model name"):
        registry.register("bad name", extractive_spec())
    assert registry.models()[0].aliases == {}  # nothing moved on the way


def test_snapshot_resolves_every_kind_of_reference(registry: ModelRegistry) -> None:
    registry.register("qa", extractive_spec())
    registry.register("qa", vllm_spec())
    registry.register("chat", openai_spec())
    registry.promote("qa", 1)
    registry.set_alias("qa", "challenger", 2)
    registry.promote("chat", 1)
    snapshot = registry.snapshot()
    assert set(snapshot.models) == {"qa", "chat"} and "qa" in snapshot
    assert snapshot.resolve(parse_ref("qa")).version == 1
    assert snapshot.resolve(parse_ref("qa@challenger")).spec.kind == "vllm"
    assert snapshot.resolve(parse_ref("qa/2")).aliases == ("challenger",)
    assert snapshot.resolve(parse_ref("chat")).spec.served_model == "gpt-4o-mini"
    with pytest.raises(UnknownVersionError):
        snapshot.resolve(parse_ref("qa/3"))
    assert [m.name for m in registry.models()] == ["chat", "qa"]


def test_a_version_made_by_hand_without_a_spec_is_skipped_with_one_warning(
    registry: ModelRegistry, tracking_uri: str, caplog: pytest.LogCaptureFixture
) -> None:
    registry.register("qa", extractive_spec())
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    client.create_model_version("qa", source="/nowhere", description="made in the UI")
    client.create_model_version("qa", source="/nowhere", tags={"genai.spec": '{"kind": "nonsense"}'})
    client.create_registered_model("ui-only")
    client.create_model_version("ui-only", source="/nowhere")
    with caplog.at_level(logging.WARNING, logger="registry.client"):
        snapshot = registry.snapshot()
        registry.snapshot()  # polled again: no second warning for the same versions
    assert set(snapshot.models) == {"qa"}  # a model with no platform version is not one of ours
    assert list(snapshot.models["qa"].versions) == [1]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3 and any("qa/2" in w and "no genai.spec tag" in w for w in warnings)
    with pytest.raises(UnknownVersionError):
        registry.version("qa", 2)
    with pytest.raises(UnknownModelError, match="no version the platform registered"):
        registry.model("ui-only")


def test_a_spec_tag_edited_in_mlflow_is_not_served(registry: ModelRegistry, tracking_uri: str) -> None:
    registry.register("qa", extractive_spec("handbook"))
    registry.register("qa", extractive_spec("handbook"))
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    edited = extractive_spec("other").to_json()  # valid, but not what was registered
    client.set_model_version_tag("qa", "2", "genai.spec", edited)
    assert list(registry.snapshot().models["qa"].versions) == [1]


def test_an_alias_set_directly_with_mlflow_appears_in_the_next_snapshot(
    registry: ModelRegistry, tracking_uri: str
) -> None:
    registry.register("qa", extractive_spec())
    registry.register("qa", vllm_spec())
    registry.promote("qa", 1)
    assert registry.snapshot().resolve(parse_ref("qa")).version == 1
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    client.set_registered_model_alias("qa", "champion", "2")
    assert registry.snapshot().resolve(parse_ref("qa")).version == 2


def test_snapshot_pages_through_many_versions(
    registry: ModelRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    from registry import mlflow_store

    monkeypatch.setattr(mlflow_store, "PAGE_SIZE", 2)
    for name in ("a", "b", "c"):
        for _ in range(3):
            registry.register(name, extractive_spec())
    snapshot = registry.snapshot()
    assert {name: sorted(m.versions) for name, m in snapshot.models.items()} == {
        "a": [1, 2, 3],
        "b": [1, 2, 3],
        "c": [1, 2, 3],
    }


def test_fault_an_unreachable_tracking_server_is_registry_unavailable() -> None:
    from registry.errors import RegistryUnavailableError

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    registry = ModelRegistry(f"http://127.0.0.1:{port}")
    with pytest.raises(RegistryUnavailableError, match=r"did not answer|cannot be reached"):
        registry.snapshot()


def test_fault_an_unusable_database_is_registry_unavailable(tmp_path: Path) -> None:
    from registry.errors import RegistryUnavailableError

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    registry = ModelRegistry(f"sqlite:///{blocker / 'mlflow.db'}")
    with pytest.raises(RegistryUnavailableError):
        registry.snapshot()
