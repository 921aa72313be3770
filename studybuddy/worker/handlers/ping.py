"""The monitor's canary: proves a queue is consumed and the store is writable end to end."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..runner import JobContext


def handle(ctx: JobContext) -> str:
    ctx.progress(50, "pong")
    return f"pong:{ctx.job.queue}:{time.time():.3f}"
