"""Google Gemini through the google-genai SDK (JSON output constrained by a response schema)."""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from .base import ProviderAuthError, ProviderBadOutput, ProviderError, ProviderUnavailable
from .openai_provider import RETRYABLE_STATUS, retry_after_seconds
from .prompts import PROBE_SYSTEM, PROBE_USER, Prompt
from .remote import Completion, OutputProblem, RemoteProvider, parse_reply

if TYPE_CHECKING:
    from ..config import Config

log = logging.getLogger(__name__)

# The finish reasons that mean "the model would not say it", where a repair will not help.
_BLOCKED = {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII"}

# We declare no tools, so the SDK's automatic function calling has nothing to do.
_NO_AFC = genai_types.AutomaticFunctionCallingConfig(disable=True)


def _transport_errors() -> tuple[type[BaseException], ...]:
    """The HTTP library's transport errors (timeouts, refused connections), whichever it uses."""
    found: list[type[BaseException]] = []
    for module_name in ("httpx2", "httpx"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        cls = getattr(module, "TransportError", None)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            found.append(cls)
    return tuple(found)


def _timeout_errors() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = [TimeoutError]
    for module_name in ("httpx2", "httpx"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        cls = getattr(module, "TimeoutException", None)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            found.append(cls)
    return tuple(found)


def _enum_name(value: Any) -> str:
    if value is None:
        return ""
    return str(getattr(value, "name", value)).upper()


class GeminiProvider(RemoteProvider):
    name = "gemini"

    def __init__(self, api_key: str, model: str, *, base_url: str = "", timeout: float = 60.0) -> None:
        if not api_key:
            raise ValueError("the gemini provider needs an API key")
        self.model = model
        self.base_url = base_url
        self.timeout = timeout
        self._api_key = api_key
        self._client: genai.Client | None = None
        self._transport = _transport_errors()
        self._timeouts = _timeout_errors()

    @classmethod
    def from_config(cls, config: Config) -> GeminiProvider:
        ai = config.ai
        return cls(
            ai.gemini_api_key, ai.gemini_model, base_url=ai.gemini_base_url, timeout=ai.timeout_seconds
        )

    def __repr__(self) -> str:
        return f"GeminiProvider(model={self.model!r}, base_url={self.base_url!r})"

    @property
    def client(self) -> genai.Client:
        if self._client is None:
            options = genai_types.HttpOptions(
                base_url=self.base_url or None,
                timeout=max(1, int(self.timeout * 1000)),  # milliseconds
                retry_options=None,  # the router owns retries, backoff and failover
            )
            self._client = genai.Client(api_key=self._api_key, http_options=options)
        return self._client

    def _call(self, contents: list[genai_types.Content], config: genai_types.GenerateContentConfig) -> Any:
        try:
            return self.client.models.generate_content(model=self.model, contents=contents, config=config)
        except genai_errors.APIError as exc:
            code = int(exc.code or 0)
            status = exc.status or ""
            if code in (401, 403) or status in ("UNAUTHENTICATED", "PERMISSION_DENIED"):
                raise ProviderAuthError(
                    f"gemini refused the credentials ({code})", provider=self.name
                ) from exc
            # The Gemini API reports a bad key as 400 INVALID_ARGUMENT "API key not valid".
            if code == 400 and "api key" in str(exc.message or "").lower():
                raise ProviderAuthError("gemini refused the API key (400)", provider=self.name) from exc
            if code >= 500 or code in RETRYABLE_STATUS:
                headers = getattr(getattr(exc, "response", None), "headers", None)
                raise ProviderUnavailable(
                    f"gemini answered {code} {status}".strip(),
                    provider=self.name,
                    retry_after=retry_after_seconds(headers),
                ) from exc
            raise ProviderError(
                f"gemini rejected the request ({code} {status}): {exc.message}", provider=self.name
            ) from exc
        except self._timeouts as exc:
            raise ProviderUnavailable(
                f"gemini did not answer within {self.timeout:g}s", provider=self.name
            ) from exc
        except self._transport as exc:
            raise ProviderUnavailable(f"cannot reach gemini: {exc}", provider=self.name) from exc
        except ValueError as exc:
            # The SDK could not decode the reply (a proxy error page, cut-off JSON): try again later.
            raise ProviderUnavailable(
                f"gemini sent a reply the SDK cannot read: {exc}", provider=self.name
            ) from exc

    @staticmethod
    def _contents(prompt: Prompt) -> list[genai_types.Content]:
        return [
            genai_types.Content(
                role="model" if m.role == "assistant" else "user", parts=[genai_types.Part(text=m.text)]
            )
            for m in prompt.messages
        ]

    def complete(self, prompt: Prompt, tool: str, schema: dict[str, Any]) -> Completion:
        config = genai_types.GenerateContentConfig(
            system_instruction=prompt.system,
            response_mime_type="application/json",
            response_json_schema=schema,
            automatic_function_calling=_NO_AFC,
        )
        response = self._call(self._contents(prompt), config)
        usage = getattr(response, "usage_metadata", None)
        tokens_in = int(getattr(usage, "prompt_token_count", 0) or 0)
        tokens_out = int(getattr(usage, "candidates_token_count", 0) or 0)
        feedback = getattr(response, "prompt_feedback", None)
        blocked = _enum_name(getattr(feedback, "block_reason", None))
        if blocked:
            return Completion(text="", tokens_in=tokens_in, refusal=f"the prompt was blocked ({blocked})")
        candidates = getattr(response, "candidates", None) or []
        finish = _enum_name(getattr(candidates[0], "finish_reason", None)) if candidates else ""
        if finish in _BLOCKED:
            return Completion(text="", tokens_in=tokens_in, refusal=f"the answer was blocked ({finish})")
        return Completion(
            text=response.text or "",
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            truncated=finish == "MAX_TOKENS",
        )

    def probe(self) -> None:
        """A one-word real generation; raises ProviderError when it does not come back as JSON."""
        config = genai_types.GenerateContentConfig(
            system_instruction=PROBE_SYSTEM,
            response_mime_type="application/json",
            automatic_function_calling=_NO_AFC,
        )
        response = self._call(
            [genai_types.Content(role="user", parts=[genai_types.Part(text=PROBE_USER)])], config
        )
        try:
            parse_reply(Completion(text=response.text or ""))
        except OutputProblem as exc:
            raise ProviderBadOutput(f"gemini probe: {exc}", provider=self.name) from None
