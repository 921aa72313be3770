"""Fixtures of the fault drills: a config on the real broker with its own queue prefix, and
clusters of worker processes on it (tests/faults/cluster.py) that are stopped after the test."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from studybuddy.config import Config

from ..helpers.rabbit import rabbit_config
from .cluster import Cluster


@pytest.fixture
def drill_cfg(tmp_path: Path, rabbit_url: str) -> Iterator[Config]:
    with rabbit_config(tmp_path, rabbit_url, label="drill") as cfg:
        yield cfg


@pytest.fixture
def make_cluster(tmp_path: Path, drill_cfg: Config) -> Iterator[Callable[..., Cluster]]:
    """make_cluster(worker={...}, broker={...}) -> a Cluster on the drill config (closed after)."""
    made: list[Cluster] = []

    def make(**kwargs: Any) -> Cluster:
        where = tmp_path / f"cluster{len(made)}"
        where.mkdir()
        cluster = Cluster(where, drill_cfg, **kwargs)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.close()
