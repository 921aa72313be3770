"""The course page kept in memory: answered without rendering while nothing it shows has changed,
and rendered afresh as soon as anything has, whoever made the change (another process included),
for whom, in which language, with which session."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

import studybuddy.web.courses as courses_view
import studybuddy.web.pagecache as pagecache
from studybuddy.services import Services
from studybuddy.store.models import Artifact, Item, Job, User, new_id
from studybuddy.store.sqlite import SqliteStore
from tests.study.conftest import add_course

from ..conftest import csrf_token, login


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The course pages actually rendered (not answered from memory)."""
    made: list[str] = []
    original = courses_view.render_template

    def counting(name: str, **context: Any) -> str:
        made.append(name)
        return original(name, **context)

    monkeypatch.setattr(courses_view, "render_template", counting)
    return made


@pytest.fixture
def course(services: Services, users: dict[str, User]) -> Any:
    made, _ = add_course(services, users["alice"], ["Cells make energy in the mitochondria."],
                         document_name="cells-notes.pdf")
    return made


@pytest.fixture
def other_process(cfg: Any) -> Any:
    """The same database opened again, as the worker process opens it."""
    store = SqliteStore(Path(cfg.app.state_dir) / "studybuddy.db", Path(cfg.app.state_dir) / "blobs")
    yield store
    store.close()


def page(client: FlaskClient, course_id: str) -> str:
    response = client.get(f"/courses/{course_id}")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_an_unchanged_course_page_is_answered_without_rendering(client: FlaskClient, users: dict[str, User],
                                                                  course: Any, renders: list[str]) -> None:
    login(client, users["alice"].email)
    first = page(client, course.id)
    assert renders == ["courses/view.html"]
    for _ in range(3):
        assert page(client, course.id) == first
    assert len(renders) == 1
    # Another address (a query) is another page.
    assert client.get(f"/courses/{course.id}?tab=work").status_code == 200
    assert len(renders) == 2


def test_every_change_to_what_the_page_shows_renders_it_again(client: FlaskClient, users: dict[str, User],
                                                              course: Any, other_process: SqliteStore,
                                                              renders: list[str]) -> None:
    login(client, users["alice"].email)
    alice = users["alice"]
    page(client, course.id)
    document = other_process.documents.list_for_course(course.id)[0]
    changes = [
        ("a document renamed by another process",
         lambda: other_process.documents.update(document.id, display_name="mitochondria-renamed.pdf"),
         "mitochondria-renamed"),
        ("a result made by the worker",
         lambda: other_process.artifacts.add(Artifact(
             id=new_id(), owner_id=alice.id, course_id=course.id, kind="summary", title="Summary of cells",
             content={"markdown": "x"}, provider="local")),
         "Summary of cells"),
        ("a finished job's failure",
         lambda: other_process.jobs.add(Job(id=new_id(), type="quiz", queue="quiz", owner_id=alice.id,
                                            course_id=course.id, state="failed",
                                            error_user="The quiz could not be made")),
         "The quiz could not be made"),
        ("the course renamed", lambda: other_process.courses.update(course.id, name="Biology renamed"),
         "Biology renamed"),
    ]
    for what, change, shown in changes:
        before = len(renders)
        assert shown not in page(client, course.id), what
        change()
        assert shown in page(client, course.id), what
        assert len(renders) == before + 1, what
    # A pin is an item of the course: the row moves to the top.
    result = other_process.artifacts.list_for_course(course.id, "summary")[0]
    before = len(renders)
    other_process.items.add(Item(id=new_id(), kind="result_pin", owner_id=alice.id, course_id=course.id,
                                 parent_id=result.id, data={}))
    page(client, course.id)
    assert len(renders) == before + 1


def test_a_course_with_a_job_under_way_is_rendered_each_time(client: FlaskClient, users: dict[str, User],
                                                             course: Any, other_process: SqliteStore,
                                                             renders: list[str]) -> None:
    """Its rows show the place in the queue and the time so far, which change by themselves."""
    login(client, users["alice"].email)
    other_process.jobs.add(Job(id=new_id(), type="summary", queue="summarize", owner_id=users["alice"].id,
                               course_id=course.id, params={"language": "en"}))
    for _ in range(3):
        page(client, course.id)
    assert len(renders) == 3


def test_each_session_gets_its_own_page_and_csrf_token(app: Any, users: dict[str, User], course: Any,
                                                       renders: list[str]) -> None:
    """Two browsers of alice: each page carries the token of its own session, and each works."""
    one, two = app.test_client(), app.test_client()
    tokens = []
    for browser in (one, two):
        login(browser, users["alice"].email)
        html = page(browser, course.id)
        tokens.append(re.search(r'name="csrf-token" content="([^"]+)"', html).group(1))  # type: ignore[union-attr]
    assert len(renders) == 2 and tokens[0] != tokens[1]
    for browser, token in ((one, tokens[0]), (two, tokens[1])):
        response = browser.post(f"/courses/{course.id}/rename", data={"name": "Biology", "csrf_token": token})
        assert response.status_code == 302


def test_bob_never_gets_alices_kept_page(app: Any, users: dict[str, User], course: Any) -> None:
    alice, bob = app.test_client(), app.test_client()
    login(alice, users["alice"].email)
    page(alice, course.id)
    page(alice, course.id)
    login(bob, users["bob"].email)
    assert bob.get(f"/courses/{course.id}").status_code == 404
    anonymous = app.test_client()
    response = anonymous.get(f"/courses/{course.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_after_logout_the_kept_page_is_not_served(client: FlaskClient, users: dict[str, User],
                                                  course: Any) -> None:
    login(client, users["alice"].email)
    page(client, course.id)
    response = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302
    response = client.get(f"/courses/{course.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_waiting_message_and_a_language_switch_are_never_answered_from_memory(
        client: FlaskClient, users: dict[str, User], course: Any, other_process: SqliteStore,
        renders: list[str]) -> None:
    login(client, users["alice"].email)
    done = other_process.jobs.add(Job(id=new_id(), type="summary", queue="summarize", owner_id=users["alice"].id,
                                      course_id=course.id, state="succeeded"))
    assert 'lang="he"' in page(client, course.id)
    page(client, course.id)
    # Cancelling a finished job says so on the course page it returns to.
    response = client.post(f"/jobs/{done.id}/cancel", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302
    flashed = page(client, course.id)
    assert 'class="flash flash-info"' in flashed
    assert 'class="flash' not in page(client, course.id)  # shown once, then the kept page again
    response = client.post("/language/en", data={"csrf_token": csrf_token(client), "next": "/library"})
    assert response.status_code == 302
    assert 'lang="en"' in page(client, course.id)


def test_the_page_is_rendered_again_when_the_minute_turns(client: FlaskClient, users: dict[str, User],
                                                          course: Any, renders: list[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Times read "5 minutes ago": a kept page lives within its minute."""
    login(client, users["alice"].email)
    minute = [29_000_000]
    monkeypatch.setattr(pagecache, "_minute", lambda: minute[0])
    page(client, course.id)
    page(client, course.id)
    assert len(renders) == 1
    minute[0] += 1
    page(client, course.id)
    assert len(renders) == 2
