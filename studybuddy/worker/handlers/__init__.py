"""The handler of each job type, one module per type.

`HANDLERS` maps a job type to "module:function"; modules are imported on first use so the
worker starts fast and a broken optional dependency only fails its own jobs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from ..runner import JobContext

HANDLERS: dict[str, str] = {
    "ping": "studybuddy.worker.handlers.ping:handle",
}


def _load(target: str) -> Callable[["JobContext"], str]:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def default_handlers() -> dict[str, Callable[["JobContext"], str]]:
    """Every registered handler, imported."""
    return {job_type: _load(target) for job_type, target in HANDLERS.items()}
