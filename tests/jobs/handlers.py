"""Handlers used by the job tests (also loaded by the worker subprocess)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from studybuddy.jobs.errors import PermanentError, TransientError
from studybuddy.store.models import Artifact, new_id
from studybuddy.worker.handlers.ping import handle as real_ping


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


def drill(ctx: Any) -> str:
    """`ping` as the fault drills submit it (params `drill_sleep`, `log`): works a while, then stores
    an artifact and returns its id, as a study tool does. Any other ping is the real one."""
    params = ctx.job.params
    if "drill_sleep" not in params:
        return real_ping(ctx)
    with Path(params["log"]).open("a") as out:
        out.write(f"start {ctx.job.id} {ctx.job.attempts} {os.getpid()} {time.time():.3f}\n")
    ctx.progress(10, "working")
    time.sleep(float(params["drill_sleep"]))
    artifact = ctx.store.artifacts.add(Artifact(
        id=new_id(), owner_id=ctx.job.owner_id, course_id=ctx.job.course_id, kind="summary",
        content={"attempt": ctx.job.attempts, "pid": os.getpid()}, title="drill", job_id=ctx.job.id))
    return str(artifact.id)


TEST_HANDLERS = {"record": record, "flaky": flaky, "bad_input": bad_input, "ping": drill}


def log_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []
