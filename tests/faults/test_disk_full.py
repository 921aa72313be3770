"""Drill: the disk that holds the SQLite database and the uploaded files really fills up.

A small tmpfs is mounted for the state directory and filled with a file until the kernel says
ENOSPC. Then uploads, pasted text, tool requests and signup answer 507 with "Storage is full" in
the student's language (JSON on /api), nothing half-written is left, /health/ready fails, and the
worker gives its job back and says so once instead of a traceback a second. When the filler is
deleted, everything works again by itself.
"""

from __future__ import annotations

import errno
import io
import logging
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from studybuddy.accounts import create_user
from studybuddy.courses import create_course
from studybuddy.services import Services
from studybuddy.web.errors import MESSAGES
from studybuddy.worker.consumer import Worker
from studybuddy.worker.handlers import default_handlers
from studybuddy.worker.runner import process_job

from ..conftest import PASSWORD, csrf_token, login, make_config, skip_or_fail_in_ci
from ..helpers.rabbit import wait_for

pytestmark = pytest.mark.slow

FULL_EN = MESSAGES[507]
FULL_HE = "האחסון בשרת מלא"
PASTE = {"title": "הערות", "text": "תא הוא יחידת החיים."}


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MB tmpfs of its own (root only); unmounted after the test."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        skip_or_fail_in_ci(f"cannot mount a small tmpfs for the disk-full drill: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


class Filler:
    """Takes every free byte of a filesystem, and gives it back."""

    def __init__(self, where: Path):
        self.path = where / "filler"

    def fill(self) -> None:
        with self.path.open("ab", buffering=0) as out:
            for block in (1 << 16, 4096, 512, 1):
                try:
                    while True:
                        out.write(b"\0" * block)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc

    def free(self) -> None:
        self.path.unlink()


@pytest.fixture
def drill(small_disk: Path, tmp_path: Path) -> Iterator[tuple[Services, Filler]]:
    cfg = make_config(tmp_path, app={"state_dir": str(small_disk / "state")}, web={
        "secret_key": "test-secret-key-not-for-production", "min_free_mb": 2})
    services = Services(cfg)
    yield services, Filler(small_disk)
    services.close()


def _fill(services: Services, filler: Filler) -> None:
    # The write-ahead log is emptied first, so that the next write of the database needs new space.
    services.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    filler.fill()


def _blob_files(services: Services) -> list[str]:
    root = services.config.state_path / "blobs"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _upload(client: Any, course_id: str, path: str = "/api/v1/courses/{}/documents") -> Any:
    data = {"files": [(io.BytesIO("הפוטוסינתזה מתרחשת בעלים.".encode() + os.urandom(8).hex().encode()),
                       "notes.txt")], "csrf_token": csrf_token(client)}
    return client.post(path.format(course_id), data=data, content_type="multipart/form-data")


def test_a_full_disk_answers_507_in_the_students_language_and_recovers(drill: tuple[Services, Filler]) -> None:
    services, filler = drill
    from studybuddy.web import create_app

    store = services.store
    app = create_app(services.config, services)
    app.config.update(TESTING=True)
    courses = {}
    for name, language in (("alice", "en"), ("bob", "he")):
        user = create_user(store, f"{name}@example.com", PASSWORD, name.title())
        store.users.update(user.id, language=language)
        courses[name] = create_course(store, user.id, f"{name} course")
    alice, bob, visitor = app.test_client(), app.test_client(), app.test_client()
    login(alice, "alice@example.com")
    login(bob, "bob@example.com")
    # A ready document, so that a study tool can be asked for.
    r = _upload(alice, courses["alice"].id)
    assert r.status_code == 201
    first = r.get_json()["documents"][0]
    assert process_job(services, first["job_id"], "test-worker", default_handlers()) == "succeeded"
    tokens = {"alice": csrf_token(alice), "bob": csrf_token(bob)}
    signup_token = csrf_token(visitor)
    documents_before = {name: len(store.documents.list_for_course(c.id)) for name, c in courses.items()}
    jobs_before = store.jobs.count_by_state()
    blobs_before = _blob_files(services)
    assert alice.get("/health/ready").status_code == 200

    _fill(services, filler)
    try:
        # Upload, in English and in Hebrew, as JSON for the API.
        r = _upload(alice, courses["alice"].id)
        assert r.status_code == 507 and r.get_json() == {"error": FULL_EN}
        r = _upload(bob, courses["bob"].id)
        assert r.status_code == 507 and r.get_json()["error"].startswith(FULL_HE)
        # The upload form gets the error page.
        r = _upload(alice, courses["alice"].id, "/courses/{}/documents")
        assert r.status_code == 507 and FULL_EN in r.get_data(as_text=True)
        # Pasted text.
        r = alice.post(f"/api/v1/courses/{courses['alice'].id}/documents/text", json=PASTE,
                       headers={"X-CSRF-Token": tokens["alice"]})
        assert r.status_code == 507 and r.get_json() == {"error": FULL_EN}
        r = bob.post(f"/courses/{courses['bob'].id}/documents/text",
                     data={"title": "הערות", "text": "תא הוא יחידת החיים.", "csrf_token": tokens["bob"]})
        assert r.status_code == 507 and FULL_HE in r.get_data(as_text=True)
        # A study tool.
        r = alice.post(f"/courses/{courses['alice'].id}/tools/summary", json={"document_id": first["id"]},
                       headers={"X-CSRF-Token": tokens["alice"], "Accept": "application/json"})
        assert r.status_code == 507 and r.get_json() == {"error": FULL_EN}, r.get_data(as_text=True)
        # Signup (a visitor reads Hebrew, the default language).
        r = visitor.post("/signup", data={"email": "carol@example.com", "password": "a good password",
                                          "password2": "a good password", "csrf_token": signup_token})
        assert r.status_code == 507 and FULL_HE in r.get_data(as_text=True)
        # Readiness says why.
        r = alice.get("/health/ready")
        disk = r.get_json(force=True)["checks"]["disk:free"][0]
        assert r.status_code == 503 and disk["status"] == "fail" and disk["observedValue"] < 2

        # Nothing half-written: no document, job, account or file came of it.
        assert {n: len(store.documents.list_for_course(c.id)) for n, c in courses.items()} == documents_before
        assert store.jobs.count_by_state() == jobs_before
        assert store.users.get_by_email("carol@example.com") is None
        assert _blob_files(services) == blobs_before
    finally:
        filler.free()

    # Space is back: the same requests work, with nothing to restart.
    assert alice.get("/health/ready").status_code == 200
    r = _upload(bob, courses["bob"].id)
    assert r.status_code == 201
    r = alice.post(f"/api/v1/courses/{courses['alice'].id}/documents/text", json=PASTE,
                   headers={"X-CSRF-Token": tokens["alice"]})
    assert r.status_code == 201
    r = visitor.post("/signup", data={"email": "carol@example.com", "password": "a good password",
                                      "password2": "a good password", "csrf_token": signup_token})
    assert r.status_code == 302 and store.users.get_by_email("carol@example.com") is not None


def test_the_worker_waits_on_a_full_disk_and_says_so_once(drill: tuple[Services, Filler],
                                                          caplog: pytest.LogCaptureFixture) -> None:
    services, filler = drill
    from studybuddy.ingest.upload import accept_text

    store = services.store
    user = create_user(store, "alice@example.com", PASSWORD, "Alice")
    course = create_course(store, user.id, "ביולוגיה")
    document = accept_text(services, course, "הערות", "הפוטוסינתזה מתרחשת בעלים של הצמח. " * 200)
    _fill(services, filler)
    worker = Worker(services, ["file_processing"], concurrency=1, handlers=default_handlers(), run_reaper=False)
    caplog.set_level(logging.INFO)
    worker.start()
    try:
        assert worker.wait_ready(10)
        time.sleep(6)  # several deliveries meet the full disk
        full = [r for r in caplog.records if "storage is full" in r.getMessage()]
        tracebacks = [r for r in caplog.records if r.exc_info and r.name.startswith("studybuddy")]
        job = store.jobs.get(document.job_id)
        assert job is not None
        print(f"\ndisk-full worker: {len(full)} report(s) in 6 s, {len(tracebacks)} tracebacks, "
              f"job {job.state} after {job.attempts} charged attempt(s)")
        assert len(full) == 1 and full[0].levelno == logging.ERROR
        assert tracebacks == []
        assert job.state in ("queued", "running") and job.attempts <= 1
        current = store.documents.get(document.id)
        assert current is not None and current.status != "failed"

        freed_at = time.monotonic()
        filler.free()
        ready = wait_for(lambda: (d := store.documents.get(document.id)) is not None and d.status == "ready",
                         timeout=30, what="the document to be read once space is back")
        print(f"disk-full worker: document ready {time.monotonic() - freed_at:.1f} s after space was freed")
        assert ready
        # The consumer thread says so once the job is settled, a moment after the document is ready.
        wait_for(lambda: any("room again" in r.getMessage() for r in caplog.records), timeout=10,
                 what="the worker to say there is room again")
    finally:
        worker.stop(10)
