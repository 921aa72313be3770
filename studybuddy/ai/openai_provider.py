"""OpenAI (and any OpenAI-compatible server: Ollama, vLLM, LM Studio) through the openai SDK."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import openai

from .base import ProviderAuthError, ProviderBadOutput, ProviderError, ProviderUnavailable
from .prompts import PROBE_SYSTEM, PROBE_USER, Prompt
from .remote import Completion, OutputProblem, RemoteProvider, parse_reply

if TYPE_CHECKING:
    from ..config import Config

log = logging.getLogger(__name__)

# Status codes worth another try: request timeout, conflict, rate limit, server trouble.
RETRYABLE_STATUS = frozenset({408, 409, 429})


def retry_after_seconds(headers: Any) -> float | None:
    """The server's Retry-After (or retry-after-ms) in seconds, when it sent a usable one."""
    if headers is None:
        return None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return max(0.0, float(ms) / 1000.0)
        value = headers.get("retry-after")
        if value is not None:
            return max(0.0, float(value))
    except (TypeError, ValueError):
        return None
    return None


class OpenAIProvider(RemoteProvider):
    name = "openai"

    def __init__(
        self,
        api_key: str,
        model: str,
        *,
        base_url: str = "",
        timeout: float = 60.0,
        json_mode: str = "schema",
    ) -> None:
        if not api_key:
            raise ValueError("the openai provider needs an API key")
        if json_mode not in ("schema", "object"):
            raise ValueError("json_mode must be 'schema' or 'object'")
        self.model = model
        self.base_url = base_url
        self.timeout = timeout
        self.json_mode = json_mode
        self._api_key = api_key
        self._client: openai.OpenAI | None = None

    @classmethod
    def from_config(cls, config: Config) -> OpenAIProvider:
        ai = config.ai
        return cls(
            ai.openai_api_key,
            ai.openai_model,
            base_url=ai.openai_base_url,
            timeout=ai.timeout_seconds,
            json_mode=ai.openai_json_mode,
        )

    def __repr__(self) -> str:
        return f"OpenAIProvider(model={self.model!r}, base_url={self.base_url!r})"

    @property
    def client(self) -> openai.OpenAI:
        # Built on first use: constructing it does no I/O, but there is no reason to do it early.
        if self._client is None:
            self._client = openai.OpenAI(
                api_key=self._api_key,
                base_url=self.base_url or None,
                timeout=self.timeout,
                max_retries=0,  # the router owns retries, backoff and failover
            )
        return self._client

    def _response_format(self, tool: str, schema: dict[str, Any]) -> dict[str, Any]:
        if self.json_mode == "object":
            return {"type": "json_object"}
        return {
            "type": "json_schema",
            "json_schema": {"name": f"studybuddy_{tool}", "schema": schema, "strict": True},
        }

    def _call(self, messages: list[dict[str, str]], response_format: dict[str, Any]) -> Any:
        try:
            return self.client.chat.completions.create(
                model=self.model,
                messages=messages,
                response_format=response_format,  # type: ignore[call-overload]
            )
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise ProviderAuthError(
                f"openai refused the credentials ({exc.status_code})", provider=self.name
            ) from exc
        except openai.APITimeoutError as exc:
            raise ProviderUnavailable(
                f"openai did not answer within {self.timeout:g}s", provider=self.name
            ) from exc
        except openai.APIConnectionError as exc:
            raise ProviderUnavailable(f"cannot reach openai: {exc}", provider=self.name) from exc
        except openai.APIStatusError as exc:
            status = exc.status_code
            if status >= 500 or status in RETRYABLE_STATUS:
                raise ProviderUnavailable(
                    f"openai answered {status}",
                    provider=self.name,
                    retry_after=retry_after_seconds(exc.response.headers),
                ) from exc
            raise ProviderError(
                f"openai rejected the request ({status}): {exc.message}", provider=self.name
            ) from exc
        except openai.OpenAIError as exc:
            # e.g. a reply the SDK cannot decode: the server is not behaving, try again later.
            raise ProviderUnavailable(f"openai call failed: {exc}", provider=self.name) from exc

    def complete(self, prompt: Prompt, tool: str, schema: dict[str, Any]) -> Completion:
        messages = [{"role": "system", "content": prompt.system}]
        messages += [{"role": m.role, "content": m.text} for m in prompt.messages]
        response = self._call(messages, self._response_format(tool, schema))
        choices = getattr(response, "choices", None) or []
        if not choices:
            return Completion(text="")
        choice = choices[0]
        message = choice.message
        usage = getattr(response, "usage", None)
        return Completion(
            text=message.content or "",
            tokens_in=int(getattr(usage, "prompt_tokens", 0) or 0),
            tokens_out=int(getattr(usage, "completion_tokens", 0) or 0),
            truncated=choice.finish_reason == "length",
            refusal=getattr(message, "refusal", None) or "",
        )

    def probe(self) -> None:
        """A one-line real completion; raises ProviderError when it does not come back as JSON."""
        response = self._call(
            [{"role": "system", "content": PROBE_SYSTEM}, {"role": "user", "content": PROBE_USER}],
            {"type": "json_object"},
        )
        choices = getattr(response, "choices", None) or []
        text = (choices[0].message.content or "") if choices else ""
        try:
            parse_reply(Completion(text=text))
        except OutputProblem as exc:
            raise ProviderBadOutput(f"openai probe: {exc}", provider=self.name) from None
