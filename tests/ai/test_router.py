"""The router: failover order, retries and backoff, circuit breakers, repair then failover.

Real OpenAI and Gemini providers (real SDKs) against the fake servers; the local provider is
the real offline one. Time is a fake clock and sleeping is recorded, not done.
"""

from __future__ import annotations

import time

import pytest

from studybuddy.ai import configured_providers
from studybuddy.ai.base import AllProvidersFailed
from studybuddy.ai.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from studybuddy.ai.router import Router, build_router, provider_order
from studybuddy.config import Config
from tests.ai.conftest import TIMEOUT, VALID, request
from tests.ai.fakes import FakeGemini, FakeOpenAI, Reply, ok, stall, status


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def make_router(cfg: Config, clock: FakeClock, only: tuple[str, ...] | None = None) -> Router:
    providers = configured_providers(cfg)
    if only is not None:
        providers = {k: v for k, v in providers.items() if k in only}
    return Router(cfg, providers, clock=clock, sleep=clock.sleep)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# ---------------------------------------------------------------- the breaker alone


def test_breaker_opens_after_consecutive_failures_and_half_opens_after_cooldown(clock: FakeClock) -> None:
    b = CircuitBreaker("x", failures=3, cooldown=60, clock=clock)
    assert b.state == CLOSED
    b.record_failure()
    b.record_failure()
    b.record_success()  # a success in between resets the count
    b.record_failure()
    b.record_failure()
    assert b.allow() and b.state == CLOSED
    b.record_failure()
    assert b.state == OPEN and not b.allow()
    assert b.snapshot()["retry_in_seconds"] == 60
    clock.now += 59.9
    assert not b.allow()
    clock.now += 0.1
    assert b.state == HALF_OPEN
    assert b.allow()  # the one trial call
    assert not b.allow()  # nobody else while the trial is in flight
    b.record_failure()  # trial failed: open again, for a full cooldown
    assert b.state == OPEN and not b.allow()
    clock.now += 60
    assert b.allow()
    b.record_success()
    assert b.state == CLOSED and b.allow() and b.allow()


# ---------------------------------------------------------------- order


def test_default_orders() -> None:
    cfg = Config()
    assert provider_order(cfg, "summary") == ["gemini", "openai", "local"]
    assert provider_order(cfg, "homework") == ["gemini", "openai", "local"]
    for tool in ("flashcards", "quiz", "glossary", "chat", "quiz_grade"):
        assert provider_order(cfg, tool) == ["openai", "gemini", "local"]
    with pytest.raises(ValueError):
        provider_order(cfg, "poetry")


def test_first_provider_in_the_tools_order_answers(
    ai_cfg: Config, clock: FakeClock, openai_server: FakeOpenAI, gemini_server: FakeGemini
) -> None:
    router = make_router(ai_cfg, clock)
    gemini_server.queue(ok(VALID["summary"]))
    assert router.run(request("summary")).provider == "gemini"
    openai_server.queue(ok(VALID["chat"]))
    assert router.run(request("chat", question="q")).provider == "openai"
    openai_server.queue(ok(VALID["quiz_grade"]))
    assert router.run(request("quiz_grade", question="q", expected="e", answer="a")).provider == "openai"
    assert len(gemini_server.requests) == 1 and len(openai_server.requests) == 2


def test_configured_order_is_followed(
    ai_cfg: Config, clock: FakeClock, openai_server: FakeOpenAI, gemini_server: FakeGemini
) -> None:
    cfg = ai_cfg.replace(ai={"chat": ["gemini", "openai"]})
    gemini_server.queue(ok(VALID["chat"]))
    assert make_router(cfg, clock).run(request("chat", question="q")).provider == "gemini"
    assert openai_server.requests == []


def test_only_configured_providers_are_tried(
    ai_cfg: Config, clock: FakeClock, openai_server: FakeOpenAI, gemini_server: FakeGemini
) -> None:
    cfg = ai_cfg.replace(ai={"gemini_api_key": ""})
    router = build_router(cfg)
    assert router.order_for("summary") == ["openai", "local"]
    openai_server.queue(ok(VALID["summary"]))
    assert router.run(request("summary")).provider == "openai"
    assert gemini_server.requests == []


# ---------------------------------------------------------------- failover


def test_failover_on_server_errors_after_retries(
    ai_cfg: Config, clock: FakeClock, openai_server: FakeOpenAI, gemini_server: FakeGemini
) -> None:
    openai_server.default = status(500, "boom")
    gemini_server.queue(ok(VALID["chat"]))
    result = make_router(ai_cfg, clock).run(request("chat", question="q"))
    assert result.provider == "gemini"
    assert len(openai_server.requests) == 3  # 1 + max_retries
    assert len(clock.slept) == 2
    # Exponential backoff with jitter, capped.
    assert 0.005 <= clock.slept[0] <= 0.01 and 0.01 <= clock.slept[1] <= 0.02


def test_retry_then_success_on_the_same_provider(
    ai_cfg: Config, clock: FakeClock, openai_server: FakeOpenAI, gemini_server: FakeGemini
) -> None:
    openai_server.queue(status(429, "slow down", {"Retry-After": "0.03"}), status(503), ok(VALID["chat"]))
    result = make_router(ai_cfg, clock).run(request("chat", question="q"))
    assert result.provider == "openai"
    assert clock.slept[0] == pytest.approx(0.03)  # the server's Retry-After, within the cap
    assert gemini_server.requests == []


def test_retry_after_is_capped(ai_cfg: Config, clock: FakeClock, openai_server: FakeOpenAI) -> None:
    openai_server.queue(status(429, headers={"Retry-After": "3600"}), ok(VALID["chat"]))
    make_router(ai_cfg, clock).run(request("chat", question="q"))
    assert clock.slept == [0.05]


def test_auth_error_is_not_retried(
    ai_cfg: Config, clock: FakeClock, openai_server: FakeOpenAI, gemini_server: FakeGemini
) -> None:
    openai_server.default = status(401, "Incorrect API key provided")
    gemini_server.queue(ok(VALID["flashcards"]))
    result = make_router(ai_cfg, clock).run(request("flashcards", count=2))
    assert result.provider == "gemini"
    assert len(openai_server.requests) == 1
    assert clock.slept == []


def test_stall_past_timeout_fails_over(
    ai_cfg: Config, clock: FakeClock, openai_server: FakeOpenAI, gemini_server: FakeGemini
) -> None:
    cfg = ai_cfg.replace(ai={"max_retries": 0})
    openai_server.queue(stall(TIMEOUT * 8))
    gemini_server.queue(ok(VALID["chat"]))
    started = time.monotonic()
    result = make_router(cfg, clock).run(request("chat", question="q"))
    assert result.provider == "gemini"
    assert time.monotonic() - started < TIMEOUT * 6  # well before the stall ends (TIMEOUT * 8)


def test_repair_then_failover(
    ai_cfg: Config, clock: FakeClock, openai_server: FakeOpenAI, gemini_server: FakeGemini
) -> None:
    # openai: junk, then junk again after the repair request -> fail over (no retries for junk).
    openai_server.queue(Reply(text="{{{"), Reply(text='{"cards": []}'))
    gemini_server.queue(ok(VALID["flashcards"]))
    result = make_router(ai_cfg, clock).run(request("flashcards", count=2))
    assert result.provider == "gemini"
    assert len(openai_server.requests) == 2
    assert clock.slept == []


def test_repair_succeeds_without_failover(
    ai_cfg: Config, clock: FakeClock, openai_server: FakeOpenAI, gemini_server: FakeGemini
) -> None:
    openai_server.queue(Reply(text="Sure! Here are your cards:"), ok(VALID["flashcards"]))
    result = make_router(ai_cfg, clock).run(request("flashcards", count=2))
    assert result.provider == "openai" and result.data == VALID["flashcards"]
    assert gemini_server.requests == []


def test_all_down_fails_with_the_student_message(
    ai_cfg: Config, clock: FakeClock, openai_server: FakeOpenAI, gemini_server: FakeGemini
) -> None:
    openai_server.default = status(500)
    gemini_server.default = status(503)
    router = make_router(ai_cfg, clock, only=("openai", "gemini"))
    with pytest.raises(AllProvidersFailed) as info:
        router.run(request("chat", question="q"))
    assert str(info.value) == "AI providers are unavailable right now, try again later"
    assert set(info.value.errors) == {"openai", "gemini"}
    assert "500" in info.value.errors["openai"] and "503" in info.value.errors["gemini"]


def test_all_remote_down_local_still_answers(
    ai_cfg: Config, clock: FakeClock, openai_server: FakeOpenAI, gemini_server: FakeGemini
) -> None:
    openai_server.default = status(500)
    gemini_server.default = status(401)
    result = make_router(ai_cfg, clock).run(request("chat", question="What does chlorophyll absorb?"))
    assert result.provider == "local"
    assert result.data["markdown"]
    assert set(result.data["citations"]) <= {1, 2, 3}


def test_no_configured_provider_for_a_tool(ai_cfg: Config, clock: FakeClock) -> None:
    cfg = ai_cfg.replace(ai={"openai_api_key": "", "gemini_api_key": "", "chat": ["openai", "gemini"]})
    with pytest.raises(AllProvidersFailed):
        build_router(cfg).run(request("chat", question="q"))


# ---------------------------------------------------------------- breaker in the router


def test_breaker_open_skips_the_provider_then_half_open_then_closed(
    ai_cfg: Config, clock: FakeClock, openai_server: FakeOpenAI, gemini_server: FakeGemini
) -> None:
    cfg = ai_cfg.replace(ai={"max_retries": 0, "breaker_failures": 2, "breaker_cooldown_seconds": 30.0})
    router = make_router(cfg, clock)
    openai_server.default = status(500)
    gemini_server.default = ok(VALID["chat"])

    for _ in range(2):
        assert router.run(request("chat", question="q")).provider == "gemini"
    assert len(openai_server.requests) == 2
    assert router.status()["openai"]["state"] == OPEN

    # Open: openai is not even called.
    assert router.run(request("chat", question="q")).provider == "gemini"
    assert len(openai_server.requests) == 2

    # After the cooldown, one trial call; it fails, so the circuit opens again.
    clock.now += 30
    assert router.status()["openai"]["state"] == HALF_OPEN
    assert router.run(request("chat", question="q")).provider == "gemini"
    assert len(openai_server.requests) == 3
    assert router.status()["openai"]["state"] == OPEN
    router.run(request("chat", question="q"))
    assert len(openai_server.requests) == 3

    # Next trial succeeds: closed, and openai answers first again.
    clock.now += 30
    openai_server.default = ok(VALID["chat"])
    assert router.run(request("chat", question="q")).provider == "openai"
    assert router.status()["openai"]["state"] == CLOSED
    assert router.run(request("chat", question="q")).provider == "openai"


def test_breaker_stops_retries_once_open(
    ai_cfg: Config, clock: FakeClock, openai_server: FakeOpenAI, gemini_server: FakeGemini
) -> None:
    cfg = ai_cfg.replace(ai={"max_retries": 5, "breaker_failures": 2})
    openai_server.default = status(502)
    gemini_server.queue(ok(VALID["chat"]))
    assert make_router(cfg, clock).run(request("chat", question="q")).provider == "gemini"
    assert len(openai_server.requests) == 2


def test_bad_output_does_not_open_the_breaker(
    ai_cfg: Config, clock: FakeClock, openai_server: FakeOpenAI, gemini_server: FakeGemini
) -> None:
    cfg = ai_cfg.replace(ai={"breaker_failures": 1})
    router = make_router(cfg, clock)
    openai_server.queue(Reply(text="junk"), Reply(text="junk"))
    gemini_server.queue(ok(VALID["chat"]))
    assert router.run(request("chat", question="q")).provider == "gemini"
    assert router.status()["openai"]["state"] == CLOSED


def test_status_lists_models_and_states(ai_cfg: Config, clock: FakeClock) -> None:
    status_ = make_router(ai_cfg, clock).status()
    assert status_["openai"]["model"] == "gpt-test"
    assert status_["gemini"]["state"] == CLOSED
    assert "local" in status_


def test_no_new_retry_after_the_budget_is_spent(
    ai_cfg: Config, clock: FakeClock, openai_server: FakeOpenAI, gemini_server: FakeGemini
) -> None:
    # Backoffs pinned (no jitter) to 0.01 s then 0.02 s: openai's first retry fits in the 0.012 s
    # budget, its second does not, and after it gemini's first retry would end past the budget.
    cfg = ai_cfg.replace(ai={"retry_budget_seconds": 0.012, "retry_backoff_seconds": 0.01})
    openai_server.default = status(503)
    gemini_server.default = status(503)
    router = make_router(cfg, clock, only=("openai", "gemini", "local"))
    router.backoff = lambda attempt, retry_after=None: 0.01 * (2**attempt)  # type: ignore[method-assign]
    result = router.run(request("chat", question="What does chlorophyll absorb?"))
    assert len(openai_server.requests) == 2
    assert len(gemini_server.requests) == 1  # the budget is gone: one try, no retries
    assert result.provider == "local"
