"""Drill: the broker goes away while a student asks for a summary, then comes back.

The web and a worker reach the real RabbitMQ through a TCP proxy the test takes down and brings
back (the shared broker itself is never stopped). While the job could not be published, its page,
its row and its JSON say "Waiting for the job server…" (in the student's language); once the broker
is back the reaper publishes it, the worker runs it, and the normal words return.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from studybuddy.accounts import create_user
from studybuddy.config import WorkerConfig
from studybuddy.courses import create_course
from studybuddy.services import Services
from studybuddy.web.work import WAITING_FOR_SERVER
from studybuddy.worker.consumer import Worker
from studybuddy.worker.handlers import default_handlers
from studybuddy.worker.runner import process_job

from ..conftest import PASSWORD, csrf_token, login
from ..helpers.rabbit import rabbit_config, wait_for
from ..helpers.tcpproxy import TcpProxy

pytestmark = [pytest.mark.slow, pytest.mark.rabbitmq]

WAITING_HE = "ממתינים לשרת המשימות…"


def test_a_job_waiting_for_the_broker_says_so_until_the_broker_returns(tmp_path: Path, rabbit_url: str) -> None:
    proxy = TcpProxy("127.0.0.1", 5672)
    proxy.up()
    # The reaper at its shipped cadence: the time to start after the broker returns is the real one.
    reaper = {"reaper_interval_seconds": WorkerConfig().reaper_interval_seconds}
    with rabbit_config(tmp_path, rabbit_url, label="away", worker=reaper) as real:
        cfg = real.replace(broker={"url": f"amqp://guest:guest@127.0.0.1:{proxy.port}//", "connect_timeout": 1.0})
        web = Services(cfg)
        worker_services = Services(cfg)
        worker = Worker(worker_services, concurrency=1, handlers=default_handlers())
        try:
            from studybuddy.web import create_app

            store = web.store
            user = create_user(store, "alice@example.com", PASSWORD, "Alice")
            store.users.update(user.id, language="en")
            course = create_course(store, user.id, "ביולוגיה")
            app = create_app(cfg, web)
            app.config.update(TESTING=True)
            client = app.test_client()
            login(client, "alice@example.com")
            token = csrf_token(client)
            r = client.post(f"/api/v1/courses/{course.id}/documents", content_type="multipart/form-data", data={
                "files": [(io.BytesIO("הפוטוסינתזה מתרחשת בעלים של הצמח בעזרת אור השמש. ".encode() * 40),
                           "notes.txt")], "csrf_token": token})
            assert r.status_code == 201
            document = r.get_json()["documents"][0]
            assert process_job(web, document["job_id"], "test-worker", default_handlers()) == "succeeded"
            worker.start()
            assert worker.wait_ready(20)

            proxy.down()
            r = client.post(f"/courses/{course.id}/tools/summary", json={"document_id": document["id"]},
                            headers={"X-CSRF-Token": token, "Accept": "application/json"})
            assert r.status_code == 202, r.get_data(as_text=True)
            job_id = r.get_json()["job_id"]
            job = store.jobs.get(job_id)
            assert job is not None and job.state == "queued" and job.dispatched_at is None
            status = client.get(f"/api/v1/jobs/{job_id}").get_json()
            assert status["waiting_for_server"] is True and status["state_text"] == WAITING_FOR_SERVER
            page = client.get(f"/courses/{course.id}/jobs/{job_id}").get_data(as_text=True)
            assert WAITING_FOR_SERVER in page
            assert WAITING_FOR_SERVER in client.get(f"/jobs/{job_id}/row").get_data(as_text=True)
            # A file uploaded now waits the same way (its list row says so, next to its progress).
            r = client.post(f"/api/v1/courses/{course.id}/documents", content_type="multipart/form-data", data={
                "files": [(io.BytesIO("תא הוא יחידת החיים הבסיסית. ".encode() * 40), "cells.txt")],
                "csrf_token": token})
            assert r.status_code == 201
            waiting_document = r.get_json()["documents"][0]
            assert (waiting_document["status"], waiting_document["stage"]) == ("uploaded", WAITING_FOR_SERVER)
            assert WAITING_FOR_SERVER in client.get(f"/courses/{course.id}/documents/rows").get_data(as_text=True)
            store.users.update(user.id, language="he")
            assert WAITING_HE in client.get(f"/courses/{course.id}/jobs/{job_id}").get_data(as_text=True)
            assert client.get(f"/api/v1/jobs/{job_id}").get_json()["state_text"] == WAITING_HE
            store.users.update(user.id, language="en")
            time.sleep(2)  # the outage goes on: the worker's reaper cannot publish it either
            assert client.get(f"/api/v1/jobs/{job_id}").get_json()["waiting_for_server"] is True

            back = time.monotonic()
            proxy.up()
            dispatched = wait_for(lambda: (j := store.jobs.get(job_id)) is not None and j.dispatched_at is not None,
                                  timeout=30, what="the reaper to publish the job")
            published_after = time.monotonic() - back
            assert dispatched
            status = client.get(f"/api/v1/jobs/{job_id}").get_json()
            assert status["waiting_for_server"] is False and status["state_text"] != WAITING_FOR_SERVER
            wait_for(lambda: (j := store.jobs.get(job_id)) is not None and j.state == "succeeded",
                     timeout=30, what="the worker to run the job")
            done_after = time.monotonic() - back
            print(f"\nbroker away: job published {published_after:.1f} s and done {done_after:.1f} s after the "
                  f"broker returned (reaper every {reaper['reaper_interval_seconds']:.0f} s)")
            assert done_after <= 30
            status = client.get(f"/api/v1/jobs/{job_id}").get_json()
            assert (status["state"], status["state_text"]) == ("succeeded", "Done")
            assert WAITING_FOR_SERVER not in client.get(f"/jobs/{job_id}/row").get_data(as_text=True)
            wait_for(lambda: client.get(f"/api/v1/documents/{waiting_document['id']}").get_json()["status"] == "ready",
                     timeout=30, what="the document uploaded during the outage to be read")
        finally:
            worker.stop(10)
            worker_services.close()
            web.close()
            proxy.down()
