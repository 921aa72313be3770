"""Handlers used by the job tests (also loaded by the worker subprocess)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from studybuddy.jobs.errors import PermanentError, TransientError


def _log(ctx: Any, what: str) -> None:
    path = Path(ctx.job.params["log"])
    with path.open("a") as out:
        out.write(f"{what} {ctx.job.id} {ctx.job.attempts} {os.getpid()}\n")


def record(ctx: Any) -> str:
    _log(ctx, "start")
    time.sleep(float(ctx.job.params.get("sleep", 0)))
    gate = ctx.job.params.get("gate")
    if gate:  # held until the test opens the gate (creates the file), so it decides what happens meanwhile
        deadline = time.monotonic() + 60
        while not Path(gate).exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the gate {gate} was never opened")
            time.sleep(0.02)
    ctx.progress(90, "almost")
    _log(ctx, "done")
    return "recorded"


def flaky(ctx: Any) -> str:
    _log(ctx, "start")
    if ctx.job.attempts < int(ctx.job.params.get("succeed_on", 2)):
        raise TransientError("the provider timed out")
    _log(ctx, "done")
    return "ok-after-retry"


def bad_input(ctx: Any) -> str:
    _log(ctx, "start")
    raise PermanentError("This file is not a PDF.", "magic bytes mismatch")


TEST_HANDLERS = {"record": record, "flaky": flaky, "bad_input": bad_input}


def log_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []
