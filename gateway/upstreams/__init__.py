"""Providers: the protocols the gateway speaks to upstreams, behind one small interface
(``provider.Provider``).

``openai`` covers every OpenAI-compatible server (vLLM, SGLang, TGI, Ollama, OpenAI, Azure OpenAI);
``anthropic`` translates to and from Anthropic's Messages API.
"""

from __future__ import annotations

from gateway.upstreams.anthropic import AnthropicProvider
from gateway.upstreams.base import UpstreamStream
from gateway.upstreams.errors import UpstreamError
from gateway.upstreams.openai_compat import OpenAICompatProvider
from gateway.upstreams.provider import Provider
from genai.settings.gateway import UpstreamSettings

PROVIDERS: dict[str, type[Provider]] = {"openai": OpenAICompatProvider, "anthropic": AnthropicProvider}


def make_provider(name: str, settings: UpstreamSettings) -> Provider:
    """The provider for an upstream's ``kind``."""
    return PROVIDERS[settings.kind](name, settings)


__all__ = [
    "PROVIDERS",
    "AnthropicProvider",
    "OpenAICompatProvider",
    "Provider",
    "UpstreamError",
    "UpstreamStream",
    "make_provider",
]
