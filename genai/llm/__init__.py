"""Self-hosted language models: the offline tiny model and the vLLM workers that serve models.

Nothing here imports torch, transformers or vLLM at import time; the heavy work happens in the functions.
"""

from __future__ import annotations

from genai.llm.tiny_model import create_tiny_model

__all__ = ["create_tiny_model"]
