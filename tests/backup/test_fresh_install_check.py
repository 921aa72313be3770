"""A fresh installation has no backup yet, and is not late: the backup check passes until
backup.max_age_hours have gone by without a first archive (then it warns, as before)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from studybuddy.checks import CHECKS, HealthContext
from tests.conftest import make_config


def _age(cfg: Any, services: Any, now: float) -> Any:
    ctx = HealthContext(cfg, services, clock=lambda: now)
    return {r.name: r for r in CHECKS["backup"].fn(ctx)}["backup:age"]


def test_no_backup_yet_is_not_late_on_a_fresh_install(tmp_path: Path, services: Any) -> None:
    cfg = make_config(tmp_path, backup={"dir": str(tmp_path / "b"), "max_age_hours": 26})
    (tmp_path / "b").mkdir()  # as the package's tmpfiles.d makes it
    now = time.time()
    fresh = _age(cfg, services, now)
    assert fresh.status == "pass" and "no backup yet; the first is due within 26 h" in fresh.output
    os.utime(tmp_path / "b", (now - 27 * 3600, now - 27 * 3600))
    late = _age(cfg, services, now)
    assert late.status == "warn" and "no backup yet in" in late.output
