"""The AI layer: providers (openai, gemini, local) behind one router with failover."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import (
    TOOLS,
    AllProvidersFailed,
    Provider,
    ProviderAuthError,
    ProviderBadOutput,
    ProviderError,
    ProviderUnavailable,
    SourceChunk,
    ToolRequest,
    ToolResult,
)

if TYPE_CHECKING:
    from ..config import Config

__all__ = [
    "TOOLS",
    "AllProvidersFailed",
    "Provider",
    "ProviderAuthError",
    "ProviderBadOutput",
    "ProviderError",
    "ProviderUnavailable",
    "SourceChunk",
    "ToolRequest",
    "ToolResult",
    "configured_providers",
]


def configured_providers(config: Config) -> dict[str, Provider]:
    """Every provider that can be used with this config (openai/gemini need a key; local always)."""
    providers: dict[str, Provider] = {}
    if config.ai.openai_api_key:
        from .openai_provider import OpenAIProvider

        providers["openai"] = OpenAIProvider.from_config(config)
    if config.ai.gemini_api_key:
        from .gemini_provider import GeminiProvider

        providers["gemini"] = GeminiProvider.from_config(config)
    from .offline import LocalProvider

    providers["local"] = LocalProvider()
    return providers
