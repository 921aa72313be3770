"""Uploads ingested by a real worker consuming file_processing on the real RabbitMQ."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from studybuddy.config import Config
from studybuddy.courses import create_course
from studybuddy.ingest import messages
from studybuddy.ingest.upload import accept_file
from studybuddy.services import Services
from studybuddy.worker.consumer import Worker

from ..helpers.rabbit import rabbit_config, wait_for
from . import makers

pytestmark = pytest.mark.rabbitmq


@pytest.fixture
def rabbit_cfg(tmp_path: Path, rabbit_url: str) -> Iterator[Config]:
    with rabbit_config(tmp_path, rabbit_url, "test-ingest",
                       worker={"queues": ["file_processing"], "concurrency": 2}) as cfg:
        yield cfg


def test_worker_ingests_uploads_from_the_file_processing_queue(rabbit_cfg: Config) -> None:
    from studybuddy.accounts import create_user

    services = Services(rabbit_cfg)
    worker = Worker(services)
    worker.start()
    try:
        assert worker.wait_ready(20), "worker did not start consuming"
        user = create_user(services.store, "alice@example.com", "correct horse battery", "Alice")
        course = create_course(services.store, user.id, "פיזיקה")
        good = accept_file(services, course, "חוקי ניוטון.pdf",
                           makers.visual_hebrew_pdf([["חוק ניוטון השני: F = m * a"], ["תאוצה ומהירות"]]))
        bad = accept_file(services, course, "broken.pdf", b"%PDF-1.4\n1 0 obj garbage")
        store = services.store

        def settled() -> bool:
            docs = [store.documents.get(good.id), store.documents.get(bad.id)]
            return all(d is not None and d.status in ("ready", "failed") for d in docs)

        wait_for(settled)
        ready, failed = store.documents.get(good.id), store.documents.get(bad.id)
        assert ready is not None and (ready.status, ready.page_count) == ("ready", 2)
        assert failed is not None and (failed.status, failed.error) == ("failed", messages.CORRUPT_PDF)
        assert [p.text for p in store.pages.list_for_document(good.id)] == [
            "חוק ניוטון השני: F = m * a", "תאוצה ומהירות",
        ]
        assert services.retrieval.search(course.id, "ותאוצה")[0].chunk.page == 2
        assert store.jobs.get(good.job_id).state == "succeeded"  # type: ignore[union-attr]
        assert store.jobs.get(bad.job_id).state == "failed"  # type: ignore[union-attr]
    finally:
        worker.stop(timeout=30)
        services.close()
