"""`genai models ...`: register model versions, list and show them, move their aliases (promote through the
gates, roll back, or set one directly), all on the MLflow registry the settings name.

mlflow and the registry client are imported inside the commands, so `genai --help` stays fast.
"""

from __future__ import annotations

import contextlib
import getpass
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from genai.cli.errors import fail, load_settings

if TYPE_CHECKING:
    from registry.client import ModelRegistry
    from registry.moves import AliasMove
    from registry.snapshot import RegisteredModel, VersionEntry
    from registry.spec import ModelSpec

app = typer.Typer(
    help="Registered models: register versions, list, show, promote, roll back.", no_args_is_help=True
)

# Tags every version has from registration: shown as columns of their own, or not at all.
_HIDDEN_TAGS = ("genai.spec_sha256", "genai.kind", "genai.code_version")


@contextlib.contextmanager
def registry_errors() -> Iterator[None]:
    """The registry's errors as one line and an exit code: 2 for a name, version, alias or reference that
    does not exist or is malformed, 1 for a registry that failed or refused."""
    from registry.errors import (
        InvalidModelRefError,
        RegistryError,
        UnknownAliasError,
        UnknownModelError,
        UnknownVersionError,
    )

    try:
        yield
    except (InvalidModelRefError, UnknownModelError, UnknownVersionError, UnknownAliasError) as error:
        fail(str(error), code=2)
    except RegistryError as error:
        fail(str(error), code=1)


def open_registry() -> ModelRegistry:
    import logging

    from registry.client import ModelRegistry

    settings = load_settings()
    import mlflow  # noqa: F401  (configures its loggers on import: quiet them after that)

    # MLflow announces at INFO each migration of a new store, and urllib3 warns of each retry of a dead
    # tracking server: the one line `fail` prints says it all
    quieter = {"mlflow": logging.WARNING, "alembic": logging.WARNING, "urllib3": logging.ERROR}
    for noisy, level in quieter.items():
        logging.getLogger(noisy).setLevel(level)
    return ModelRegistry.from_settings(settings)


def version_record(entry: VersionEntry) -> dict[str, Any]:
    """A version as JSON: what `--json` prints."""
    return {
        "name": entry.name,
        "version": entry.version,
        "ref": entry.ref,
        "kind": entry.spec.kind,
        "aliases": list(entry.aliases),
        "created": _when(entry.created_ms),
        "spec": entry.spec.model_dump(mode="json"),
        "tags": dict(entry.tags),
    }


def model_record(model: RegisteredModel) -> dict[str, Any]:
    champion = model.versions.get(model.aliases.get("champion", 0))
    return {
        "name": model.name,
        "description": model.description,
        "versions": sorted(model.versions),
        "aliases": _ordered(model.aliases),
        "champion_kind": None if champion is None else champion.spec.kind,
    }


@app.command("register")
def register(
    name: str = typer.Argument(..., help="The registered model (a new one is created)."),
    kind: str = typer.Option(..., "--kind", help="vllm, openai or extractive."),
    served_model: str | None = typer.Option(None, "--served-model", help="The name its server knows."),
    upstream: str | None = typer.Option(None, "--upstream", help="A pool named in gateway.upstreams."),
    workers: list[str] = typer.Option([], "--worker", help="A vLLM worker's base URL (repeatable)."),
    base_url: str | None = typer.Option(None, "--base-url", help="A hosted API's root URL (openai)."),
    api_key_env: str | None = typer.Option(None, "--api-key-env", help="The variable holding the API key."),
    context_window: int | None = typer.Option(None, "--context-window", min=1, help="Tokens."),
    price_input: float = typer.Option(0.0, "--price-input", min=0, help="USD per 1M prompt tokens."),
    price_output: float = typer.Option(0.0, "--price-output", min=0, help="USD per 1M completion tokens."),
    price_gpu_second: float | None = typer.Option(None, "--price-gpu-second", min=0, help="USD (vllm)."),
    vllm_args: list[str] = typer.Option([], "--vllm-arg", help="A worker launch argument (repeatable)."),
    knowledge_base: str | None = typer.Option(None, "--knowledge-base", help="Retrieve context from it."),
    k: int | None = typer.Option(None, "--k", min=1, max=50, help="Chunks retrieved per request (4)."),
    description: str = typer.Option("", "--description", help="What this model or version is for."),
    alias: str | None = typer.Option(None, "--alias", help="Point this alias at the new version."),
    as_json: bool = typer.Option(False, "--json", help="Print the new version as JSON."),
) -> None:
    """Register a new version of NAME (immutable: what serves it, its price, retrieval, provenance)."""
    from registry.refs import ALIASES
    from registry.spec import MODEL_KINDS

    if kind not in MODEL_KINDS:
        fail(f"--kind must be one of {', '.join(MODEL_KINDS)}, got {kind!r}")
    if alias is not None and alias not in ALIASES:
        fail(f"--alias must be one of {', '.join(ALIASES)}, got {alias!r}")
    if k is not None and knowledge_base is None:
        fail("--k needs --knowledge-base (the knowledge base the chunks come from)")
    spec = _spec(
        kind=kind,
        served_model=served_model,
        upstream=upstream,
        workers=tuple(workers),
        base_url=base_url,
        api_key_env=api_key_env,
        context_window=context_window,
        price={
            "input_per_1m": price_input,
            "output_per_1m": price_output,
            "per_gpu_second": price_gpu_second,
        },
        vllm_args=tuple(vllm_args),
        retrieval=None
        if knowledge_base is None
        else {"knowledge_base": knowledge_base, **({"k": k} if k else {})},
        description=description,
    )
    registry = open_registry()
    with registry_errors():
        entry = registry.register(name, spec, description=description, created_by=_user())
        if alias == "champion":
            registry.promote(name, entry.version)  # keeps previous-champion right
        elif alias is not None:
            registry.set_alias(name, alias, entry.version)
        if alias is not None:
            entry = registry.version(name, entry.version)
    if as_json:
        typer.echo(json.dumps(version_record(entry), indent=2))
        return
    aliases = f"; aliases: {', '.join(entry.aliases)}" if entry.aliases else ""
    typer.echo(f"registered {entry.ref} ({_serves(entry.spec)}){aliases}")


def _spec(**fields: Any) -> ModelSpec:
    """The spec the options describe, or a clear message naming what is missing or wrong."""
    from pydantic import ValidationError

    from registry.spec import ModelSpec

    try:
        return ModelSpec.model_validate(fields)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            where = ".".join(str(part) for part in item["loc"])
            option = "--" + where.split(".")[-1].replace("_", "-") + ": " if where else ""
            problems.append(option + str(item["msg"]).removeprefix("Value error, "))
        fail("; ".join(problems) + " (see genai models register --help)")


@app.command("list")
def list_models(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List registered models with their aliases."""
    registry = open_registry()
    with registry_errors():
        models = registry.models()
    if as_json:
        typer.echo(json.dumps([model_record(m) for m in models], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(models)} registered model(s)")
    for column in ("name", "versions", "champion", "challenger", "previous-champion", "kind"):
        table.add_column(column)
    for model in models:
        record = model_record(model)
        table.add_row(
            model.name,
            str(len(model.versions)),
            *(str(model.aliases.get(a, "-")) for a in ("champion", "challenger", "previous-champion")),
            record["champion_kind"] or "-",
        )
    Console().print(table)


@app.command("show")
def show(
    ref: str = typer.Argument(..., help="NAME (every version), or NAME@ALIAS / NAME/N (that one)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a model's versions: kind, what serves them, aliases, evaluation and gate tags."""
    from registry.refs import parse_ref

    registry = open_registry()
    with registry_errors():
        parsed = parse_ref(ref)
        model = registry.model(parsed.name)
        entries = [model.resolve(parsed)] if "@" in ref or "/" in ref else list(model.versions.values())
    if as_json:
        typer.echo(
            json.dumps({**model_record(model), "shown": [version_record(e) for e in entries]}, indent=2)
        )
        return
    _print_versions(model, entries)


def _print_versions(model: RegisteredModel, entries: list[VersionEntry]) -> None:
    """One row per version, then each version's evaluation and gate tags (too wide for a column)."""
    from rich.console import Console
    from rich.table import Table

    aliases = ", ".join(f"{a}={v}" for a, v in _ordered(model.aliases).items()) or "none"
    table = Table(title=f"{model.name}: {len(model.versions)} version(s); aliases {aliases}")
    for column in ("version", "aliases", "kind", "serves", "retrieval", "created"):
        table.add_column(column, no_wrap=column in ("version", "kind"))
    for entry in entries:
        retrieval = entry.spec.retrieval
        table.add_row(
            str(entry.version),
            ", ".join(entry.aliases) or "-",
            entry.spec.kind,
            _serves(entry.spec),
            f"{retrieval.knowledge_base} (k={retrieval.k})" if retrieval else "-",
            _when(entry.created_ms),
        )
    console = Console()
    console.print(table)
    if model.description:
        console.print(model.description)
    for entry in entries:
        tags = [f"  {k} = {v}" for k, v in sorted(entry.tags.items()) if k not in _HIDDEN_TAGS]
        if tags:
            console.print(f"{entry.ref} tags:", *tags, sep="\n", markup=False, highlight=False)


@app.command("promote")
def promote(
    name: str = typer.Argument(..., help="The registered model."),
    version: int | None = typer.Option(None, "--version", min=1, help="The candidate (default: challenger)."),
    eval_set: Path | None = typer.Option(None, "--eval-set", help="JSONL eval set (default: the settings')."),
    as_json: bool = typer.Option(False, "--json", help="Print the decision as JSON."),
) -> None:
    """Promote a version to champion if it passes every gate on the eval set (exit 1 if refused)."""
    registry = open_registry()
    with registry_errors():
        model = registry.model(name)
        if version is not None:
            registry.version(name, version)
        elif "challenger" not in model.aliases:
            fail(f"model {name!r} has no challenger; pass --version N")
    if eval_set is not None and not eval_set.is_file():
        fail(f"--eval-set {eval_set} is not a file")
    try:
        from flows.promote import promote as promote_flow
    except ImportError as error:
        fail(f"the promotion flow cannot be loaded ({error})", code=1)
    from genai.orchestration.prefect_env import configure_prefect

    configure_prefect(load_settings(), quiet=True)
    with registry_errors():
        try:
            report = promote_flow(model=name, version=version, eval_set=str(eval_set or ""))
        except Exception as error:  # the flow's own log holds the details
            if type(error).__module__.startswith("registry"):
                raise
            fail(f"the promotion flow failed: {error}", code=1)
    passed = bool(report.get("passed", report.get("decision") == "promoted"))
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
    else:
        _print_decision(name, report, passed)
    if not passed:
        raise typer.Exit(1)


def _print_decision(name: str, report: dict[str, Any], passed: bool) -> None:
    for gate in report.get("gates", []):
        mark = "pass" if gate.get("passed") else "FAIL"
        typer.echo(f"  {mark}  {gate.get('name')}: {gate.get('detail', '')}")
    candidate = f"{name}/{report.get('version')}"
    verdict = "promoted to champion" if passed else f"refused: {report.get('reason', 'a gate failed')}"
    typer.echo(f"{candidate} {verdict}")
    if passed and report.get("aliases_after"):
        typer.echo("aliases now: " + ", ".join(f"{a}={v}" for a, v in report["aliases_after"].items()))


@app.command("rollback")
def rollback(
    name: str = typer.Argument(..., help="The registered model."),
    as_json: bool = typer.Option(False, "--json", help="Print the alias move as JSON."),
) -> None:
    """Make previous-champion the champion again (no gates: it was champion before)."""
    registry = open_registry()
    with registry_errors():
        move = registry.rollback(name)
    _print_move(move, as_json)


@app.command("alias")
def alias(
    name: str = typer.Argument(..., help="The registered model."),
    alias_name: str = typer.Argument(..., metavar="ALIAS", help="champion, challenger or previous-champion."),
    version: int | None = typer.Option(None, "--version", min=1, help="The version it points at."),
    delete: bool = typer.Option(False, "--delete", help="Remove the alias instead."),
    as_json: bool = typer.Option(False, "--json", help="Print the alias move as JSON."),
) -> None:
    """Set (or --delete) an alias directly, bypassing the gates: for operators."""
    if delete == (version is not None):
        fail("give either --version N or --delete")
    registry = open_registry()
    with registry_errors():
        if delete:
            move = registry.delete_alias(name, alias_name)
        else:
            assert version is not None
            move = registry.set_alias(name, alias_name, version)
    _print_move(move, as_json)


def _print_move(move: AliasMove, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(move.to_dict(), indent=2))
        return
    if not move.changed:
        typer.echo(f"{move.name}: nothing moved")
        return
    for name, (before, after) in move.moves().items():
        typer.echo(f"{move.name}@{name}: {_or_none(before)} -> {_or_none(after)}")


def _ordered(aliases: Mapping[str, int]) -> dict[str, int]:
    from registry.moves import alias_order

    return dict(sorted(aliases.items(), key=lambda item: alias_order(item[0])))


def _serves(spec: ModelSpec) -> str:
    """What answers for a version, in a few words."""
    if spec.kind == "extractive":
        return "extractive, no LLM"
    where = spec.upstream or spec.base_url or ", ".join(spec.workers)
    return f"{spec.kind} {spec.served_model} via {where}"


def _short(key: str, value: str, width: int = 70) -> str:
    text = f"{key}={value}"
    return text if len(text) <= width else text[: width - 3] + "..."


def _or_none(version: int | None) -> str:
    return "(none)" if version is None else str(version)


def _when(created_ms: int) -> str:
    return datetime.fromtimestamp(created_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M") if created_ms else "-"


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return ""
