"""The student's loop on the course page: one-tap tools, jobs you can follow and cancel, one list of
recent work, and results you can rename, delete and pin; quiz marks and "retry the ones I got wrong"."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import pytest
from bs4 import BeautifulSoup

from studybuddy.courses import create_course
from studybuddy.services import Services
from studybuddy.store.models import Artifact, User, new_id
from studybuddy.study import quiz
from studybuddy.study.titles import result_title, short_text
from studybuddy.worker.consumer import Worker
from studybuddy.worker.handlers import default_handlers
from tests.study.conftest import add_course, wait_job
from tests.study.study_material import ENGLISH

from ..conftest import csrf_token


def post(client: Any, url: str, json: bool = False, **data: Any) -> Any:
    headers = {"Accept": "application/json"} if json else {}
    return client.post(url, data={**data, "csrf_token": csrf_token(client)}, headers=headers)


def start(client: Any, course_id: str, tool: str = "summary", **data: Any) -> str:
    response = post(client, f"/courses/{course_id}/tools/{tool}", language="en", **data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return str(response.headers["Location"].rsplit("/", 1)[-1])


def soup(response: Any) -> BeautifulSoup:
    assert response.status_code == 200, response.status_code
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


@pytest.fixture
def worker(services: Services) -> Any:
    running = Worker(services, run_reaper=False)
    running.start()
    assert running.wait_ready(20), "worker did not start consuming"
    yield running
    running.stop(10)


@pytest.fixture
def login_as(client: Any, users: dict[str, User]) -> Any:
    """Logged in, pages in English."""
    from ..conftest import login

    def do(name: str) -> Any:
        login(client, users[name].email)
        assert post(client, "/language/en", next="/library").status_code == 302
        return client

    return do


@pytest.fixture
def course(services: Services, users: dict[str, User]) -> Any:
    made, _document = add_course(services, users["alice"], ENGLISH, name="Biology")
    return made


def test_a_cancelled_waiting_job_never_runs(login_as: Any, services: Services, course: Any) -> None:
    client = login_as("alice")
    job_id = start(client, course.id)
    followed = client.get(f"/api/v1/jobs/{job_id}").get_json()
    assert followed["state"] == "queued" and followed["cancel_url"] == f"/jobs/{job_id}/cancel"
    assert followed["ahead"] == 0 and followed["elapsed"] >= 0
    answer = post(client, f"/jobs/{job_id}/cancel", json=True)
    assert answer.status_code == 200 and answer.get_json()["state"] == "cancelled"
    assert post(client, f"/jobs/{job_id}/cancel", json=True).status_code == 409  # nothing left to cancel
    worker = Worker(services, run_reaper=False)
    worker.start()
    try:
        assert worker.wait_ready(20)
        time.sleep(0.5)  # the message is delivered; the claim refuses a cancelled job
    finally:
        worker.stop(10)
    assert services.store.jobs.get(job_id).state == "cancelled"  # type: ignore[union-attr]
    assert services.store.artifacts.list_for_course(course.id) == []
    page = soup(client.get(f"/courses/{course.id}"))
    row = page.select_one(f'[data-job-id="{job_id}"]')
    assert row is not None and row.select_one('[data-role="cancel"]') is None


def test_a_cancelled_running_job_stops_and_its_work_is_discarded(login_as: Any, services: Services,
                                                                course: Any) -> None:
    client = login_as("alice")
    entered, go_on = threading.Event(), threading.Event()
    reached: list[str] = []
    real = default_handlers()

    def slow_summary(ctx: Any) -> str:
        ctx.progress(10, "Reading the material")
        entered.set()
        go_on.wait(10)
        reached.append("after the cancel")
        ctx.progress(50, "Writing")  # the cancel stops the job here
        reached.append("kept working")
        return str(real["summary"](ctx))

    def slow_save(ctx: Any) -> str:
        entered.set()
        go_on.wait(10)  # cancelled while its last step runs: the result it saves is discarded
        ctx.store.artifacts.add(Artifact(id="late-result", owner_id=ctx.job.owner_id, course_id=ctx.job.course_id,
                                         kind="summary", content={"markdown": "late"}, title="late",
                                         job_id=ctx.job.id))
        return "late-result"

    for handler in (slow_summary, slow_save):
        entered.clear()
        go_on.clear()
        worker = Worker(services, handlers={**real, "summary": handler}, run_reaper=False, concurrency=1)
        worker.start()
        try:
            job_id = start(client, course.id)
            assert entered.wait(10), "the worker did not start the job"
            assert client.get(f"/api/v1/jobs/{job_id}").get_json()["state"] == "running"
            assert post(client, f"/jobs/{job_id}/cancel").status_code == 302
            go_on.set()
            job = wait_job(services, job_id)
            deadline = time.monotonic() + 5
            while any(c.running.snapshot()[0] is not None for c in worker.consumers) and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            worker.stop(10)
        assert job.state == "cancelled"
        assert services.store.jobs.get(job_id).state == "cancelled"  # type: ignore[union-attr]
    assert reached == ["after the cancel"]
    assert services.store.artifacts.list_for_course(course.id) == []


def test_place_in_the_queue(login_as: Any, services: Services, course: Any) -> None:
    client = login_as("alice")
    jobs = [start(client, course.id, "summary") for _ in range(3)]
    assert [client.get(f"/api/v1/jobs/{j}").get_json()["ahead"] for j in jobs] == [0, 1, 2]
    other = start(client, course.id, "flashcards")  # another queue: nothing ahead of it
    assert client.get(f"/api/v1/jobs/{other}").get_json()["ahead"] == 0
    post(client, f"/jobs/{jobs[0]}/cancel")
    assert client.get(f"/api/v1/jobs/{jobs[2]}").get_json()["ahead"] == 1
    page = soup(client.get(f"/courses/{course.id}"))
    assert "1 ahead of you" in page.select_one(f'[data-job-id="{jobs[2]}"]').get_text()
    assert client.get(f"/api/v1/jobs/{jobs[0]}").get_json()["ahead"] is None  # not waiting any more


def test_one_list_of_recent_work_with_results_in_place(login_as: Any, services: Services, course: Any,
                                                      worker: Any) -> None:
    client = login_as("alice")
    job = wait_job(services, start(client, course.id, "summary", length="short", style="exam"))
    assert job.state == "succeeded"
    page = soup(client.get(f"/courses/{course.id}"))
    text = page.get_text()
    assert "Recent tasks" not in text and "Recent results" not in text
    lists = page.select('[data-role="work-list"]')
    assert len(lists) == 1
    rows = lists[0].select(f'[data-job-id="{job.id}"]')
    assert len(rows) == 1  # the job and its result: one row
    link = rows[0].select_one("a.work-title")
    assert link["href"] == f"/results/{job.result_ref}"
    assert link.get_text() == "Short summary · exam preparation — biology.pdf"
    # The row a page fetches when a job it follows finishes: the same row, with the result linked.
    fragment = soup(client.get(f"/jobs/{job.id}/row"))
    assert fragment.select_one("a.work-title")["href"] == f"/results/{job.result_ref}"


def test_rename_pin_and_delete_a_result(login_as: Any, services: Services, course: Any, worker: Any) -> None:
    client = login_as("alice")
    first = wait_job(services, start(client, course.id, "summary"))
    second = wait_job(services, start(client, course.id, "flashcards", count="3"))
    result = f"/results/{first.result_ref}"
    renamed = post(client, f"{result}/rename", title="  My   summary  ", next=result)
    assert renamed.status_code == 302 and renamed.headers["Location"] == result
    assert services.store.artifacts.get(first.result_ref).title == "My summary"  # type: ignore[union-attr]
    refused = post(client, f"{result}/rename", title="   ")
    assert refused.status_code == 400
    assert services.store.artifacts.get(first.result_ref).title == "My summary"  # type: ignore[union-attr]

    # Newest first, unless pinned: the older summary pinned goes to the top.
    titles = [a.get_text() for a in soup(client.get(f"/courses/{course.id}")).select("a.work-title")]
    assert titles[0] != "My summary"
    post(client, f"{result}/pin")
    page = soup(client.get(f"/courses/{course.id}"))
    assert page.select("a.work-title")[0].get_text() == "My summary"
    assert "is-pinned" in page.select('[data-role="work-list"] > li')[0]["class"]
    assert soup(client.get(result)).select_one('[aria-pressed="true"]') is not None
    post(client, f"{result}/pin")  # unpinned again
    assert soup(client.get(f"/courses/{course.id}")).select("a.work-title")[0].get_text() != "My summary"

    post(client, f"{result}/pin")
    deleted = post(client, f"{result}/delete", next=result)
    assert deleted.status_code == 302 and deleted.headers["Location"].endswith(f"/courses/{course.id}#work")
    assert client.get(result).status_code == 404
    assert services.store.items.find("result_pin", owner_id=first.owner_id) == []
    assert services.store.artifacts.get(second.result_ref) is not None


def test_provider_details_are_in_a_disclosure(login_as: Any, services: Services, course: Any, worker: Any) -> None:
    client = login_as("alice")
    job = wait_job(services, start(client, course.id, "summary"))
    page = soup(client.get(f"/results/{job.result_ref}"))
    made_by = [t for t in page.find_all(string=re.compile("Made by")) if "Made by" in t]
    assert made_by and all(t.find_parent("details", class_="provider-details") for t in made_by)


def test_tools_are_one_tap_and_wait_for_material(login_as: Any, services: Services, users: dict[str, User]) -> None:
    client = login_as("alice")
    empty = create_course(services.store, users["alice"].id, "Empty")
    page = soup(client.get(f"/courses/{empty.id}"))
    buttons = page.select("form[data-start-tool] button[formaction]")
    assert len(buttons) >= 7 and all(b.has_attr("disabled") for b in buttons)
    assert page.select_one('.tools-need-material a[href="#documents"]') is not None
    tools = soup(client.get(f"/courses/{empty.id}/tools"))
    assert all(b.has_attr("disabled") for b in tools.select("form[data-start-tool] button[type=submit]"))
    # With material: one tap, the page's language, no choices to make; the options are in a closed disclosure.
    course, _document = add_course(services, users["alice"], ENGLISH, name="Biology")
    page = soup(client.get(f"/courses/{course.id}"))
    buttons = page.select("form[data-start-tool] button[formaction]")
    assert buttons and not any(b.has_attr("disabled") for b in buttons)
    assert page.select("form[data-start-tool] select") == []
    tools = soup(client.get(f"/courses/{course.id}/tools"))
    for form in tools.select("form[data-start-tool]"):
        assert all(s.find_parent("details", class_="options") for s in form.select("select"))
        assert not form.select_one("details.options").has_attr("open")
    tapped = client.post(buttons[0]["formaction"], data={"csrf_token": csrf_token(client), "language": "he"})
    assert tapped.status_code == 302
    job = services.store.jobs.get(tapped.headers["Location"].rsplit("/", 1)[-1])
    assert job is not None and job.params["language"] == "he"


def test_quiz_marks_and_retrying_the_wrong_ones(login_as: Any, services: Services, course: Any, worker: Any) -> None:
    client = login_as("alice")
    job = wait_job(services, start(client, course.id, "quiz", count="3", kind="mc"))
    artifact = services.store.artifacts.get(job.result_ref)
    questions = quiz.questions(artifact)  # type: ignore[arg-type]
    assert len(questions) >= 2
    answers = {f"q{i}": str(q["correct"] if i == 0 else (q["correct"] + 1) % len(q["options"]))
               for i, q in enumerate(questions)}
    done = post(client, f"/quizzes/{job.result_ref}/attempts", **answers)
    attempt_id = done.headers["Location"].rsplit("/", 1)[-1]
    page = soup(client.get(done.headers["Location"]))
    marks = [m.get_text(" ", strip=True) for m in page.select(".question-head .mark")]
    assert marks[0] == "Right" and set(marks[1:]) == {"Wrong"}
    assert page.select(".mark-wrong svg[data-icon=cross]") and page.select(".mark-right svg[data-icon=check]")
    retry = next((a for a in page.select("a") if "Retry the ones I got wrong" in a.get_text()), None)
    assert retry is not None and retry["href"] == f"/quizzes/{job.result_ref}?retry={attempt_id}"
    again = soup(client.get(retry["href"]))
    asked = {i["name"] for i in again.select("form.quiz input[type=radio]")}
    assert asked == {f"q{i}" for i in range(1, len(questions))}
    kept = again.select_one('form.quiz input[type=hidden][name="q0"]')
    assert kept is not None and kept["value"] == answers["q0"]
    fixed = {k: str(q["correct"]) for k, q in zip(answers, questions)}
    second = post(client, f"/quizzes/{job.result_ref}/attempts", **fixed)
    assert "100%" in client.get(second.headers["Location"]).get_data(as_text=True)
    # Someone else's attempt cannot be used to retry.
    assert client.get(f"/quizzes/{job.result_ref}?retry=not-an-attempt").status_code == 404


def test_titles_tell_results_apart() -> None:
    a = result_title("summary", "he", "הרצאה 3.pdf", {"length": "short", "style": "exam"})
    b = result_title("summary", "he", "הרצאה 3.pdf", {"length": "long", "style": "bullets"})
    assert a != b and a.startswith("סיכום קצר") and a.endswith("— הרצאה 3.pdf")
    assert result_title("quiz", "en", "Biology", {"count": 5, "kind": "open"}) == "Quiz: 5 open questions — Biology"
    cut = short_text("Find the derivative of f(x) = x squared plus three x minus seven, then its roots", 40)
    assert cut.endswith("…") and len(cut) <= 40 and not cut[:-1].endswith(" ")
    assert cut == "Find the derivative of f(x) = x squared…"  # whole words only
    assert short_text("Find the derivative of f(x) = x squared plus", 34) == "Find the derivative of f(x) = x…"
    assert short_text("short", 40) == "short"


def test_only_the_owner_manages_a_result(client: Any, login_as: Any, services: Services, course: Any,
                                        users: dict[str, User]) -> None:
    mine = services.store.artifacts.add(Artifact(id=new_id(), owner_id=users["alice"].id, course_id=course.id,
                                                 kind="summary", content={"markdown": "x"}, title="Alice's"))
    login_as("bob")
    for action in ("rename", "pin", "delete"):
        assert post(client, f"/results/{mine.id}/{action}", title="bob").status_code == 404
    assert services.store.artifacts.get(mine.id).title == "Alice's"  # type: ignore[union-attr]
    assert services.store.items.find("result_pin", owner_id=users["bob"].id) == []
