"""What a registered model version records: everything it takes to serve it, and where it came from.

A ``ModelSpec`` is written once, when the version is registered, and never changed (MLflow keeps it as
the params and the ``spec.json`` artifact of the version's registration run; its JSON also rides on the
version's ``genai.spec`` tag so that one search reads every version). Evaluation results and gate
decisions are tags beside it, never edits of it.

Three kinds register the same way:

* ``vllm``: a self-hosted model served by vLLM workers: ``workers`` (base URLs) or ``upstream`` (a pool
  named in ``gateway.upstreams``), ``served_model`` (the name vLLM serves it as), ``vllm_args`` (how the
  workers are launched, kept for reproducibility and for ``genai worker``).
* ``openai``: a hosted OpenAI-compatible model: ``base_url`` or ``upstream``, ``served_model``, and
  ``api_key_env``, the *name* of the variable that holds the key (a registry never stores a secret).
* ``extractive``: a baseline with no LLM that answers with the retrieved sentences that best match the
  question; it needs ``retrieval``.

Any kind may carry ``retrieval`` (a knowledge base and how many chunks to put into the prompt): the
gateway then retrieves context for each request to that version and returns citations.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ModelKind = Literal["vllm", "openai", "extractive"]
MODEL_KINDS: tuple[ModelKind, ...] = ("vllm", "openai", "extractive")


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriceEntry(_Record):
    """What one request costs: per million input and output tokens (vendors), or per GPU-second of the
    worker's time shared out by tokens (self-hosted)."""

    input_per_1m: float = Field(0.0, ge=0, description="USD per 1M prompt tokens.")
    output_per_1m: float = Field(0.0, ge=0, description="USD per 1M completion tokens.")
    per_gpu_second: float | None = Field(None, ge=0, description="USD per GPU-second (self-hosted).")
    currency: Literal["USD"] = "USD"
    table_version: str = Field("manual", description="Which price table this entry came from.")

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """The token-priced cost of one request (GPU-second pricing is shared out by the cost report)."""
        return (prompt_tokens * self.input_per_1m + completion_tokens * self.output_per_1m) / 1_000_000


class RetrievalConfig(_Record):
    """Retrieval-augmented generation: which knowledge base, and how much of it goes into the prompt."""

    knowledge_base: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
    k: int = Field(4, ge=1, le=50, description="Chunks retrieved per request.")
    max_context_tokens: int | None = Field(
        None, ge=1, description="Cap on the context's tokens; default: what the context window leaves."
    )


class Provenance(_Record):
    """Where a version came from."""

    code_version: str = Field("unknown", description="The platform's git commit or package version.")
    settings_digest: str = Field("", description="sha256 of the settings that made it (secrets excluded).")
    created_by: str = Field("", description="Who or what registered it (a user, a flow run).")


class ModelSpec(_Record):
    """What serves one model version. Immutable once registered."""

    kind: ModelKind
    served_model: str | None = Field(None, description="The name the upstream knows the model by.")
    upstream: str | None = Field(None, description="A pool named in gateway.upstreams.")
    workers: tuple[str, ...] = Field((), description="Base URLs of the workers (vllm).")
    base_url: str | None = Field(None, description="The vendor's API root (openai).")
    api_key_env: str | None = Field(None, description="The environment variable holding the API key.")
    context_window: int | None = Field(None, ge=1)
    price: PriceEntry = Field(default_factory=PriceEntry)
    vllm_args: tuple[str, ...] = Field((), description="The workers' launch arguments (vllm).")
    retrieval: RetrievalConfig | None = None
    description: str = ""
    provenance: Provenance = Field(default_factory=Provenance)

    @model_validator(mode="after")
    def _servable(self) -> ModelSpec:
        if self.kind == "extractive":
            if self.retrieval is None:
                raise ValueError("an extractive model answers from retrieved chunks: give it retrieval")
            return self
        if not (self.upstream or self.workers or self.base_url):
            raise ValueError(f"a {self.kind} model needs an upstream, workers or a base_url")
        if self.upstream and (self.workers or self.base_url):
            raise ValueError("give either upstream or workers/base_url, not both")
        if not self.served_model:
            raise ValueError(f"a {self.kind} model needs served_model (the name its server knows)")
        return self

    def to_json(self) -> str:
        """Canonical JSON (sorted keys): the same spec always gives the same text and digest."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    def digest(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()
