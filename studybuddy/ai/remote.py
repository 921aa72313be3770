"""What the networked providers share: prompt, parse, validate, one repair request."""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from .base import ProviderBadOutput, ToolRequest, ToolResult
from .prompts import Message, Prompt, build_prompt, repair_message
from .schemas import SchemaError, schema_for, validate

log = logging.getLogger(__name__)

_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True)
class Completion:
    """One model reply: its text, why it stopped, and what it cost."""

    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    truncated: bool = False  # the model hit its output limit
    refusal: str = ""  # the model declined (safety); repair will not help


class OutputProblem(ValueError):
    """A reply we cannot use, said in words a model can act on."""


def parse_reply(completion: Completion) -> dict[str, Any]:
    """The JSON object in a reply (code fences tolerated), or OutputProblem."""
    text = completion.text.strip()
    if completion.truncated:
        raise OutputProblem("the reply was cut off before the JSON object was complete")
    if not text:
        raise OutputProblem("the reply was empty")
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OutputProblem(f"the reply is not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(data, dict):
        raise OutputProblem("the reply must be a JSON object")
    return data


class RemoteProvider:
    """Base of the providers that call a model over the network.

    Subclasses implement ``complete``; ``run`` turns a ToolRequest into a validated ToolResult,
    asking the model once to repair an unusable reply before giving up with ProviderBadOutput.
    """

    name: str = ""
    model: str = ""

    def complete(self, prompt: Prompt, tool: str, schema: dict[str, Any]) -> Completion:
        """One call to the model; raises ProviderError subclasses."""
        raise NotImplementedError

    def run(self, request: ToolRequest) -> ToolResult:
        started = time.monotonic()
        prompt = build_prompt(request)
        schema = schema_for(request.tool)
        tokens_in = tokens_out = 0
        problem = ""
        for attempt in range(2):
            completion = self.complete(prompt, request.tool, schema)
            tokens_in += completion.tokens_in
            tokens_out += completion.tokens_out
            if completion.refusal:
                raise ProviderBadOutput(
                    f"{self.name} declined the request: {completion.refusal}", provider=self.name
                )
            try:
                data = validate(request.tool, parse_reply(completion), request)
            except (OutputProblem, SchemaError) as exc:
                problem = str(exc)
                log.warning(
                    "%s/%s gave an unusable %s answer (attempt %d): %s",
                    self.name,
                    self.model,
                    request.tool,
                    attempt + 1,
                    problem,
                )
                prompt = Prompt(
                    system=prompt.system,
                    messages=[
                        *prompt.messages,
                        Message("assistant", completion.text[:20000] or "(empty)"),
                        Message("user", repair_message(problem)),
                    ],
                )
                continue
            return ToolResult(
                data=data,
                provider=self.name,
                model=self.model,
                latency_ms=int((time.monotonic() - started) * 1000),
                tokens_in=tokens_in,
                tokens_out=tokens_out,
            )
        raise ProviderBadOutput(
            f"{self.name} gave an unusable {request.tool} answer after a repair request: {problem}",
            provider=self.name,
        )
