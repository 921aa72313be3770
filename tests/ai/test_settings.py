"""The AI settings: defaults, environment overrides and strict checking."""

from __future__ import annotations

import pytest

from studybuddy.config import ConfigError, load_config


def test_defaults() -> None:
    ai = load_config(env={}).ai
    assert ai.openai_json_mode == "schema"
    assert (ai.retry_backoff_seconds, ai.retry_backoff_max_seconds, ai.retry_budget_seconds) == (
        1.0,
        20.0,
        90.0,
    )


def test_environment_overrides() -> None:
    ai = load_config(
        env={
            "STUDYBUDDY_AI__OPENAI_JSON_MODE": "object",
            "STUDYBUDDY_AI__RETRY_BUDGET_SECONDS": "30",
            "STUDYBUDDY_AI__CHAT": "local,openai",
        }
    ).ai
    assert ai.openai_json_mode == "object"
    assert ai.retry_budget_seconds == 30.0
    assert ai.chat == ["local", "openai"]


def test_bad_values_are_refused() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(
            text="ai:\n  openai_json_mode: xml\n  retry_budget_seconds: soon\n  chat: [openia]\n", env={}
        )
    text = str(info.value)
    assert "ai.openai_json_mode must be one of schema, object" in text
    assert "ai.retry_budget_seconds must be a number" in text
    assert "unknown provider 'openia'" in text and "did you mean 'openai'" in text
