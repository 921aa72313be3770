"""Drill: the web process SIGKILLed again and again while students upload; no document is stranded.

The web runs as its own process (`studybuddy web`, waitress) on the real RabbitMQ (a private queue
prefix) and a SQLite file. Two students' browsers upload small text files without pause; the web
is killed at random moments and started again. Afterwards one reaper pass runs, and every
document must have its ingest job, queued or done, and published.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from studybuddy.accounts import create_user
from studybuddy.config import Config
from studybuddy.courses import create_course
from studybuddy.jobs.reaper import reap_once
from studybuddy.services import Services

from ..conftest import PASSWORD
from ..helpers.rabbit import rabbit_config

ROOT = Path(__file__).resolve().parents[2]
KILLS = 20

pytestmark = [pytest.mark.slow, pytest.mark.rabbitmq]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def service_env(cfg: Config, port: int) -> dict[str, str]:
    """The environment of a `studybuddy` process with this test config (no config file)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDYBUDDY_")}
    env.update({
        "PYTHONPATH": str(ROOT),
        "STUDYBUDDY_APP__STATE_DIR": str(cfg.state_path),
        "STUDYBUDDY_BROKER__URL": cfg.broker.url,
        "STUDYBUDDY_BROKER__QUEUE_PREFIX": cfg.broker.queue_prefix,
        "STUDYBUDDY_BROKER__CONNECT_TIMEOUT": str(cfg.broker.connect_timeout),
        "STUDYBUDDY_WEB__PORT": str(port),
        "STUDYBUDDY_WEB__SECRET_KEY": cfg.web.secret_key,
        "STUDYBUDDY_METRICS__WEB_PORT": "0",
        "STUDYBUDDY_METRICS__WORKER_PORT": "0",
    })
    return env


def start_web(cfg: Config, port: int, log_file: Any) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "studybuddy.cli", "web"], cwd=cfg.state_path.parent,
                            env=service_env(cfg, port), stdout=log_file, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the web exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("the web did not answer within 60 s")


class Student:
    """A browser: logged in once (the session outlives web restarts), then uploading files."""

    def __init__(self, base: str, email: str, course_id: str):
        self.base, self.email, self.course_id = base, email, course_id
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.token = ""
        self.sent = self.created = self.errors = 0

    def log_in(self) -> None:
        page = self.opener.open(self.base + "login", timeout=10).read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        data = urllib.parse.urlencode({"email": self.email, "password": PASSWORD, "csrf_token": token}).encode()
        library = self.opener.open(self.base + "login", data=data, timeout=10).read().decode()
        self.token = re.search(r'name="csrf-token" content="([^"]+)"', library).group(1)  # type: ignore[union-attr]

    def upload(self, files: int = 4) -> None:
        boundary = uuid.uuid4().hex
        parts = []
        for _ in range(files):
            text = f"סיכום {uuid.uuid4().hex}: הפוטוסינתזה מתרחשת בעלים.\n".encode()
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
                         f'filename="notes-{uuid.uuid4().hex[:8]}.txt"\r\nContent-Type: text/plain\r\n\r\n'.encode()
                         + text + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        request = urllib.request.Request(
            f"{self.base}api/v1/courses/{self.course_id}/documents", data=body, method="POST",
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}", "X-CSRF-Token": self.token,
                     "Accept": "application/json"})
        try:
            self.sent += files
            with self.opener.open(request, timeout=10) as r:
                self.created += len(json.loads(r.read())["documents"])
        except (OSError, http.client.HTTPException):
            self.errors += 1  # the web died under this request, or is starting again
            time.sleep(0.05)


def test_web_killed_during_uploads_strands_no_document(tmp_path: Path, rabbit_url: str) -> None:
    with rabbit_config(tmp_path, rabbit_url, label="intake") as cfg:
        cfg.state_path.mkdir(parents=True, exist_ok=True)
        setup = Services(cfg)
        students = []
        for name in ("alice", "bob"):
            user = create_user(setup.store, f"{name}@example.com", PASSWORD, name.title())
            setup.store.users.update(user.id, language="en")
            students.append((user.email, create_course(setup.store, user.id, f"{name} course").id))
        setup.close()

        port = free_port()
        base = f"http://127.0.0.1:{port}/"
        log_path = tmp_path / "web.log"
        rng = random.Random(13)
        stop = threading.Event()
        with log_path.open("ab") as log_file:
            web = start_web(cfg, port, log_file)
            browsers = [Student(base, email, course_id) for email, course_id in students]
            for browser in browsers:
                browser.log_in()

            def keep_uploading(browser: Student) -> None:
                while not stop.is_set():
                    browser.upload()

            threads = [threading.Thread(target=keep_uploading, args=(b,), daemon=True) for b in browsers]
            for t in threads:
                t.start()
            kills = 0
            try:
                for _ in range(KILLS):
                    time.sleep(rng.uniform(0.2, 1.0))
                    web.send_signal(signal.SIGKILL)
                    web.wait(10)
                    kills += 1
                    web = start_web(cfg, port, log_file)
                time.sleep(1.0)  # a last stretch of uploads on the restarted web
            finally:
                stop.set()
                for t in threads:
                    t.join(15)
                web.send_signal(signal.SIGTERM)
                try:
                    web.wait(20)
                except subprocess.TimeoutExpired:
                    web.kill()

        services = Services(cfg)
        try:
            reap_once(services)
            store = services.store
            documents = [d for _, course_id in students for d in store.documents.list_for_course(course_id)]
            stranded = []
            for document in documents:
                job = store.jobs.get(document.job_id) if document.job_id else None
                if job is None or job.document_id != document.id or job.state not in ("queued", "succeeded"):
                    stranded.append((document.id, document.job_id, job.state if job else "no job"))
            jobs = [store.jobs.get(d.job_id) for d in documents if d.job_id]
            undispatched = [j.id for j in jobs if j is not None and j.dispatched_at is None]
            waiting = services.broker.queue_stats()["file_processing"][0]
            sent = sum(b.sent for b in browsers)
            created = sum(b.created for b in browsers)
            failed_requests = sum(b.errors for b in browsers)
            print(f"\nintake drill: {kills} web kills, {sent} files sent, {created} acknowledged, "
                  f"{len(documents)} documents stored, {failed_requests} requests cut off, "
                  f"{len(stranded)} stranded, {len(undispatched)} unpublished after a reaper pass, "
                  f"{waiting} messages waiting for {len(jobs)} jobs")
            assert kills == KILLS
            assert created > KILLS, "the uploads did not run while the web was killed"
            assert len(documents) >= created  # every acknowledged upload is there
            assert stranded == []
            assert undispatched == []
            assert not [d.id for d in documents if not d.job_id]
        finally:
            services.close()
