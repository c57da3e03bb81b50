"""One registrable spec of each kind, for the registry and CLI tests."""

from __future__ import annotations

from registry.spec import ModelSpec, PriceEntry, RetrievalConfig


def vllm_spec(served_model: str = "tiny-chat") -> ModelSpec:
    return ModelSpec(
        kind="vllm",
        served_model=served_model,
        workers=("http://127.0.0.1:8101", "http://127.0.0.1:8102"),
        context_window=512,
        price=PriceEntry(per_gpu_second=0.0004),
        vllm_args=("--dtype", "float32", "--max-model-len", "512"),
    )


def openai_spec() -> ModelSpec:
    return ModelSpec(
        kind="openai",
        served_model="gpt-4o-mini",
        base_url="https://api.example.invalid/v1",
        api_key_env="VENDOR_API_KEY",
        context_window=128_000,
        price=PriceEntry(input_per_1m=0.15, output_per_1m=0.6),
    )


def extractive_spec(kb: str = "handbook") -> ModelSpec:
    return ModelSpec(kind="extractive", retrieval=RetrievalConfig(knowledge_base=kb, k=3))
