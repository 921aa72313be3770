"""Log-in throttling per account and per client address, kept in the store.

Why a small table of our own rather than Flask-Limiter: Flask-Limiter (through `limits`) keeps
its counters in memory, Redis, Memcached or MongoDB. We run on SQLite by default, and memory
would not hold across our several web processes or a restart; adding Redis only for this is
a new service to run. Its model is also "N requests per period" for every request, while what
we need is "N *failed* log-ins, forgiven by a success, with a wait that grows", plus an
administrator who can see and lift a lock. One row per key (`account:<address>`,
`address:<client IP>`) with an atomic upsert does exactly that on both of our stores.

An account key is counted for any address typed, with or without an account, so the lock
itself tells nothing about which addresses exist.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from .accounts import MAX_EMAIL, normalize_email
from .config import AccountsConfig
from .store import Store
from .store.account_models import ThrottleState


def account_key(email: str) -> str:
    return f"account:{normalize_email(email)[:MAX_EMAIL]}"


def address_key(address: str) -> str:
    return f"address:{address[:64]}"


class LoginThrottle:
    def __init__(self, store: Store, config: AccountsConfig, clock: Callable[[], float] | None = None):
        self.repo = store.accounts.throttle
        self.config = config
        self.clock = clock or (lambda: time.time())

    def _limits(self, email: str, address: str) -> list[tuple[str, int]]:
        limits = [(account_key(email), self.config.login_max_failures)]
        if address:
            limits.append((address_key(address), self.config.login_max_failures_per_address))
        return limits

    def wait_seconds(self, email: str, address: str) -> int:
        """0 when a log-in may be tried now; otherwise how many seconds to wait."""
        now = self.clock()
        waits = [state.locked_until - now for key, _ in self._limits(email, address)
                 if (state := self.repo.get(key)) is not None]
        return max([0] + [math.ceil(w) for w in waits])

    def failed(self, email: str, address: str) -> int:
        """Count a failed log-in; returns the wait it caused (0 if none)."""
        now = self.clock()
        cfg = self.config
        # Keys typed once and never again would pile up: forget those whose window is long over.
        self.repo.purge(now - 4 * cfg.login_window_seconds, now)
        wait = 0.0
        for key, limit in self._limits(email, address):
            failures = self.repo.fail(key, now, cfg.login_window_seconds)
            if failures >= limit:
                wait_here = min(cfg.login_lock_max_seconds, cfg.login_lock_seconds * 2 ** min(failures - limit, 16))
                self.repo.lock(key, now + wait_here)
                wait = max(wait, wait_here)
        return math.ceil(wait)

    def succeeded(self, email: str) -> None:
        """A right password forgives the account's failures (not the address's: one account of
        one's own must not reset the count of guesses against others)."""
        self.repo.clear(account_key(email))

    def unlock(self, key: str) -> None:
        self.repo.clear(key)

    def locked(self) -> list[ThrottleState]:
        return self.repo.locked(self.clock())
