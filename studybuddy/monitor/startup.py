"""The monitor's first round waits until the units it watches have finished starting.

At install (or `systemctl restart studybuddy.target`) the three services start together. A
round run while the web is still "activating" would find it refusing connections and paint a
fresh install red until the next round. So the monitor first waits, telling systemd and
`studybuddy status` that it is starting, and records when its first round is done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..store import Store
from .restarter import Restarter

log = logging.getLogger(__name__)

STARTUP_KEY = "startup"
STARTING_STATES = ("activating", "reloading")
# Well past the units' TimeoutStartSec= (90 s): by then systemd has decided either way.
WAIT_LIMIT_SECONDS = 180.0
POLL_SECONDS = 1.0


def units_starting(restarter: Restarter, units: list[str]) -> list[str]:
    """The units whose start (or reload) is still under way."""
    starting = []
    for unit in units:
        try:
            state = restarter.show(unit).get("ActiveState", "")
        except RuntimeError as exc:
            log.info("cannot read the state of %s yet: %s", unit, exc)
            continue
        if state in STARTING_STATES:
            starting.append(unit)
    return starting


def wait_until_started(restarter: Restarter, units: list[str], store: Store, *,
                       clock: Callable[[], float], sleep: Callable[[float], None],
                       status: Callable[[str], None],
                       limit: float = WAIT_LIMIT_SECONDS) -> list[str]:
    """Poll until none of `units` is starting, at most `limit` seconds; returns those still starting.

    `sleep` is the monitor's own (it raises when the monitor is told to stop)."""
    started = clock()
    while True:
        starting = units_starting(restarter, units)
        if not starting:
            break
        waited = clock() - started
        if waited >= limit:
            log.info("%s still starting after %.0fs; probing anyway", ", ".join(starting), waited)
            break
        note = f"starting: waiting for {', '.join(starting)} to finish starting"
        store.monitor.set_state(STARTUP_KEY, {"state": "starting", "waiting_for": starting, "since": started})
        status(note)
        sleep(POLL_SECONDS)
    store.monitor.set_state(STARTUP_KEY, {"state": "first_round", "waiting_for": [], "since": started})
    status("starting: first round under way")
    return starting


def mark_running(store: Store, now: float) -> None:
    """The first round is stored: from now on `studybuddy status` shows its results."""
    store.monitor.set_state(STARTUP_KEY, {"state": "running", "waiting_for": [], "since": now})


def startup_note(store: Store) -> str:
    """What `studybuddy status` says for a probe the monitor has not run yet, while it starts."""
    state: dict[str, Any] = store.monitor.get_state(STARTUP_KEY) or {}
    if state.get("state") == "starting":
        return f"starting: the monitor waits for {', '.join(state.get('waiting_for') or [])} to finish starting"
    if state.get("state") == "first_round":
        return "starting: the monitor's first round is under way"
    return ""
