"""``ModelRegistry``: the platform's registered models, versions and aliases, kept in MLflow's registry.

A version is created once by ``register`` and never changed: its spec (``registry.spec.ModelSpec``) is the
JSON in the version's ``genai.spec`` tag (with ``genai.spec_sha256`` and ``genai.kind``), and the params and
``spec.json`` artifact of an MLflow run in the ``genai-registry`` experiment that is the version's
``run_id``. What happens to a version later is tags beside the spec (evaluation results, gate decisions)
and the three aliases (champion, challenger, previous-champion) moving between versions.

Only MLflow's client API is used (never the fluent ``mlflow.*`` functions), so no global "active run" or
tracking URI leaks between threads or between two registries in one process. ``snapshot`` reads the whole
registry in two paged searches: the gateway calls it every ``registry.poll_seconds``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from registry import mlflow_store
from registry.errors import (
    InvalidModelRefError,
    RegistryError,
    UnknownAliasError,
    UnknownModelError,
    UnknownVersionError,
)
from registry.mlflow_store import translated
from registry.moves import AliasMove, alias_order
from registry.provenance import code_version, settings_digest
from registry.refs import ALIASES, ModelRef, is_model_name, parse_ref
from registry.snapshot import RegisteredModel, RegistrySnapshot, VersionEntry
from registry.spec import ModelSpec

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

    from genai.settings import Settings

logger = logging.getLogger(__name__)

REGISTRATION_EXPERIMENT = "genai-registry"
SPEC_TAG = "genai.spec"
SPEC_DIGEST_TAG = "genai.spec_sha256"
KIND_TAG = "genai.kind"
CODE_VERSION_TAG = "genai.code_version"
ROLLBACK_TAG = "genai.rollback"
# Written at registration and never again: a version is immutable.
IMMUTABLE_TAGS = frozenset({KIND_TAG, CODE_VERSION_TAG})
IMMUTABLE_PREFIX = "genai.spec"


class ModelRegistry:
    """The registry on one MLflow tracking URI (its model registry on the same URI)."""

    def __init__(
        self, tracking_uri: str, artifact_location: str | None = None, *, settings_digest: str = ""
    ) -> None:
        self.tracking_uri = tracking_uri
        self.artifact_root = mlflow_store.artifact_root(tracking_uri, artifact_location)
        self._settings_digest = settings_digest
        self._client: MlflowClient | None = None
        self._lock = threading.Lock()
        self._warned: set[tuple[str, int]] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelRegistry:
        """The registry the settings name: ``mlflow_tracking_uri`` and ``registry.artifact_location``
        (default: ``home/mlartifacts``, the folder `genai up`'s MLflow server uses too; with a tracking
        server and no location set, the server's own artifact root)."""
        uri = settings.mlflow_tracking_uri
        assert uri is not None
        location = settings.registry.artifact_location
        if location is None and not mlflow_store.is_http(uri):
            location = str(settings.home / "mlartifacts")
        return cls(uri, location, settings_digest=settings_digest(settings))

    def mlflow_client(self) -> MlflowClient:
        """The MLflow client this registry uses (for code that logs its own runs beside the registry)."""
        with self._lock:
            if self._client is None:
                self._client = mlflow_store.make_client(self.tracking_uri)
            return self._client

    def experiment_id(self, name: str) -> str:
        """The id of MLflow experiment ``name``, created if needed with its artifacts under this
        registry's artifact root (rather than MLflow's ``./mlruns`` in the working directory)."""
        client = self.mlflow_client()
        with translated(RegistryError):
            return mlflow_store.experiment_id(client, name, self.artifact_root)

    # --- writing -------------------------------------------------------------------------------------

    def register(
        self, name: str, spec: ModelSpec, *, description: str = "", created_by: str = ""
    ) -> VersionEntry:
        """A new version of ``name`` (the registered model is created first if it is new, with
        ``description``). The version's provenance gets this checkout's code version and the settings
        digest where the spec left them empty."""
        _check_name(name)
        spec = self._with_provenance(spec, created_by)
        client = self.mlflow_client()
        with translated(RegistryError):
            self._ensure_model(client, name, description)
            run_id, source = self._registration_run(client, name, spec)
            version = client.create_model_version(
                name,
                source=source,
                run_id=run_id,
                tags={
                    SPEC_TAG: spec.to_json(),
                    SPEC_DIGEST_TAG: spec.digest(),
                    KIND_TAG: spec.kind,
                    CODE_VERSION_TAG: spec.provenance.code_version,
                },
                description=spec.description or None,
                await_creation_for=0,  # nothing to copy: the source is the run's own artifacts
            )
            client.set_tag(run_id, "genai.model_version", f"{name}/{version.version}")
        entry = self._entry(version, ())
        assert entry is not None  # we just wrote its spec
        logger.info("registered %s (%s)", entry.ref, spec.kind)
        return entry

    def set_tags(self, name: str, version: int, tags: Mapping[str, str]) -> None:
        """Add or overwrite tags on a version (eval results, gate decisions). The spec's own tags are
        refused: a version is immutable, register a new one instead."""
        refused = sorted(k for k in tags if k.startswith(IMMUTABLE_PREFIX) or k in IMMUTABLE_TAGS)
        if refused:
            raise RegistryError(
                f"tags {', '.join(refused)} are part of the version's immutable spec; register a new "
                "version to change what serves a model"
            )
        self.version(name, version)
        client = self.mlflow_client()
        with translated(UnknownVersionError, f"model {name!r} has no version {version}"):
            for key, value in tags.items():
                client.set_model_version_tag(name, str(version), key, str(value))

    def set_alias(self, name: str, alias: str, version: int) -> AliasMove:
        """Point ``alias`` at ``version`` directly (operators; flows use ``promote``)."""
        _check_alias(alias)
        model = self.model(name)
        model.resolve(ModelRef(name, None, version))  # UnknownVersionError before anything moves
        client = self.mlflow_client()
        with translated(UnknownModelError, f"no registered model {name!r}"):
            client.set_registered_model_alias(name, alias, str(version))
        return AliasMove(name, "set", dict(model.aliases), self._aliases(name))

    def delete_alias(self, name: str, alias: str) -> AliasMove:
        _check_alias(alias)
        model = self.model(name)
        if alias not in model.aliases:
            raise UnknownAliasError(f"model {name!r} has no {alias} (aliases set: {_aliases_text(model)})")
        client = self.mlflow_client()
        with translated(UnknownAliasError, f"model {name!r} has no {alias}"):
            client.delete_registered_model_alias(name, alias)
        return AliasMove(name, "delete", dict(model.aliases), self._aliases(name))

    def promote(self, name: str, version: int) -> AliasMove:
        """``version`` becomes champion; the champion it replaces becomes previous-champion; challenger is
        removed if it pointed at ``version``. Promoting the champion again changes nothing."""
        model = self.model(name)
        model.resolve(ModelRef(name, None, version))
        before = dict(model.aliases)
        champion = before.get("champion")
        client = self.mlflow_client()
        with translated(UnknownModelError, f"no registered model {name!r}"):
            if champion is not None and champion != version:
                client.set_registered_model_alias(name, "previous-champion", str(champion))
            if champion != version:
                client.set_registered_model_alias(name, "champion", str(version))
            if before.get("challenger") == version:
                client.delete_registered_model_alias(name, "challenger")
        move = AliasMove(name, "promote", before, self._aliases(name))
        logger.info("promoted %s/%s: %s", name, version, move.moves())
        return move

    def rollback(self, name: str) -> AliasMove:
        """previous-champion becomes champion again and the alias is cleared (so a second rollback does not
        bring back the version just demoted); the demoted version gets a ``genai.rollback`` tag."""
        model = self.model(name)
        previous = model.aliases.get("previous-champion")
        if previous is None or previous not in model.versions:
            raise UnknownAliasError(
                f"model {name!r} has no previous-champion to roll back to "
                f"(aliases set: {_aliases_text(model)})"
            )
        before = dict(model.aliases)
        demoted = before.get("champion")
        client = self.mlflow_client()
        with translated(UnknownModelError, f"no registered model {name!r}"):
            client.set_registered_model_alias(name, "champion", str(previous))
            client.delete_registered_model_alias(name, "previous-champion")
            if demoted is not None and demoted != previous:
                note = f"demoted: {name}/{previous} restored as champion"
                client.set_model_version_tag(name, str(demoted), ROLLBACK_TAG, note)
        move = AliasMove(name, "rollback", before, self._aliases(name))
        logger.info("rolled back %s: %s", name, move.moves())
        return move

    # --- reading -------------------------------------------------------------------------------------

    def models(self) -> list[RegisteredModel]:
        """Every registered model with at least one platform version, by name."""
        return sorted(self.snapshot().models.values(), key=lambda m: m.name)

    def model(self, name: str) -> RegisteredModel:
        """One registered model (two MLflow calls: the model with its aliases, then its versions)."""
        _check_name(name)
        client = self.mlflow_client()
        missing = f"no registered model {name!r}"
        with translated(UnknownModelError, missing):
            registered = client.get_registered_model(name)
            versions = mlflow_store.paged(client.search_model_versions, filter_string=f"name = '{name}'")
        model = self._model(registered, versions)
        if model is None:
            raise UnknownModelError(f"{missing}: MLflow has it, but no version the platform registered")
        return model

    def version(self, name: str, version: int) -> VersionEntry:
        return self.model(name).resolve(ModelRef(name, None, version))

    def resolve(self, ref: str | ModelRef) -> VersionEntry:
        """The version ``ref`` (``NAME``, ``NAME@alias``, ``NAME/N``) names."""
        parsed = parse_ref(ref) if isinstance(ref, str) else ref
        return self.model(parsed.name).resolve(parsed)

    def snapshot(self) -> RegistrySnapshot:
        """Every platform model, version and alias, read in two paged searches. Versions without a valid
        spec (made by hand in the MLflow UI, or a spec tag edited there) are left out with a warning."""
        client = self.mlflow_client()
        with translated(RegistryError):
            # Models (with their aliases) first: a version registered between the two searches is then
            # merely not yet aliased, never an alias pointing at a version the snapshot lacks.
            registered = mlflow_store.paged(client.search_registered_models)
            versions = mlflow_store.paged(client.search_model_versions)
        by_name: dict[str, list[ModelVersion]] = {}
        for version in versions:
            by_name.setdefault(version.name, []).append(version)
        models = {}
        for item in registered:
            model = self._model(item, by_name.get(item.name, []))
            if model is not None:
                models[model.name] = model
        return RegistrySnapshot(MappingProxyType(models))

    # --- helpers -------------------------------------------------------------------------------------

    def _with_provenance(self, spec: ModelSpec, created_by: str) -> ModelSpec:
        provenance = spec.provenance
        update: dict[str, str] = {}
        if provenance.code_version in ("", "unknown"):
            update["code_version"] = code_version()
        if not provenance.settings_digest and self._settings_digest:
            update["settings_digest"] = self._settings_digest
        if created_by and not provenance.created_by:
            update["created_by"] = created_by
        if not update:
            return spec
        # Validated again so the stored JSON is exactly what ModelSpec accepts when it is read back.
        data = spec.model_dump(mode="json")
        data["provenance"] = {**data["provenance"], **update}
        return ModelSpec.model_validate(data)

    def _ensure_model(self, client: MlflowClient, name: str, description: str) -> None:
        from mlflow.exceptions import MlflowException

        try:
            client.create_registered_model(name, description=description or None)
        except MlflowException as error:
            if mlflow_store.error_code(error) != "RESOURCE_ALREADY_EXISTS":
                raise

    def _registration_run(self, client: MlflowClient, name: str, spec: ModelSpec) -> tuple[str, str]:
        """An MLflow run recording the spec (params + spec.json): the version's immutable record."""
        from mlflow.entities import Param

        experiment = mlflow_store.experiment_id(client, REGISTRATION_EXPERIMENT, self.artifact_root)
        tags = {"genai.model": name, KIND_TAG: spec.kind}
        if spec.provenance.created_by:
            tags["mlflow.user"] = spec.provenance.created_by
        run = client.create_run(experiment, run_name=f"register {name}", tags=tags)
        run_id = run.info.run_id
        try:
            params = [Param(k, v) for k, v in mlflow_store.spec_params(spec).items()]
            client.log_batch(run_id, params=params)
            client.log_dict(run_id, spec.model_dump(mode="json"), "spec.json")
        except BaseException:
            client.set_terminated(run_id, "FAILED")
            raise
        client.set_terminated(run_id, "FINISHED")
        return run_id, str(run.info.artifact_uri)

    def _aliases(self, name: str) -> dict[str, int]:
        client = self.mlflow_client()
        with translated(UnknownModelError, f"no registered model {name!r}"):
            return {alias: int(v) for alias, v in client.get_registered_model(name).aliases.items()}

    def _model(self, registered: Any, versions: Iterable[ModelVersion]) -> RegisteredModel | None:
        """A platform model from MLflow's records, or None when none of its versions has a spec."""
        if not is_model_name(registered.name):
            return None  # made by hand with a name no model reference can spell
        aliases = {alias: int(v) for alias, v in (registered.aliases or {}).items()}
        pointing: dict[int, list[str]] = {}
        for alias, number in sorted(aliases.items(), key=lambda item: alias_order(item[0])):
            pointing.setdefault(number, []).append(alias)
        entries = {}
        for version in versions:
            entry = self._entry(version, tuple(pointing.get(int(version.version), ())))
            if entry is not None:
                entries[entry.version] = entry
        if not entries:
            return None
        return RegisteredModel(
            name=registered.name,
            versions=MappingProxyType(dict(sorted(entries.items()))),
            aliases=MappingProxyType(aliases),
            description=registered.description or "",
        )

    def _entry(self, version: ModelVersion, aliases: tuple[str, ...]) -> VersionEntry | None:
        tags = dict(version.tags or {})
        number = int(version.version)
        text = tags.pop(SPEC_TAG, None)
        try:
            if text is None:
                raise ValueError(f"it has no {SPEC_TAG} tag (made outside the platform?)")
            spec = ModelSpec.model_validate_json(text)
            if tags.get(SPEC_DIGEST_TAG) not in (None, spec.digest()):
                raise ValueError(f"its {SPEC_TAG} tag was edited ({SPEC_DIGEST_TAG} does not match)")
        except ValidationError as error:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
            self._warn_once(version.name, number, f"its {SPEC_TAG} tag is not a valid spec ({problems})")
            return None
        except ValueError as error:
            self._warn_once(version.name, number, str(error))
            return None
        return VersionEntry(
            name=version.name,
            version=number,
            spec=spec,
            aliases=aliases,
            tags=MappingProxyType(tags),
            created_ms=int(version.creation_timestamp or 0),
        )

    def _warn_once(self, name: str, number: int, reason: str) -> None:
        # snapshot() runs every few seconds in every gateway: say it once per version, not every poll
        with self._lock:
            if (name, number) in self._warned:
                return
            self._warned.add((name, number))
        logger.warning("registry: skipping %s/%s: %s", name, number, reason.splitlines()[0])


def _check_name(name: str) -> None:
    if not is_model_name(name):
        raise InvalidModelRefError(
            f"{name!r} is not a model name: use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit"
        )


def _check_alias(alias: str) -> None:
    if alias not in ALIASES:
        raise UnknownAliasError(
            f"{alias!r} is not an alias the platform uses; the aliases are {', '.join(ALIASES)}"
        )


def _aliases_text(model: RegisteredModel) -> str:
    return ", ".join(f"{a}={v}" for a, v in sorted(model.aliases.items())) or "none"
