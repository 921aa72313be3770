"""The tools pages: forms, validation, quota, results with citations, quizzes, chat, glossary, ownership."""

from __future__ import annotations

import re
from typing import Any

import pytest

from studybuddy.services import Services
from studybuddy.store.models import User
from studybuddy.study import chat, quiz
from studybuddy.study.markdown import render_markdown
from tests.conftest import csrf_token, make_config
from tests.study.conftest import add_course, wait_job
from tests.study.study_material import ENGLISH


def post(client: Any, url: str, **data: Any) -> Any:
    return client.post(url, data={**data, "csrf_token": csrf_token(client)})


def in_english(client: Any) -> Any:
    """Show the pages in English (the default is Hebrew)."""
    assert post(client, "/language/en", next="/library").status_code == 302
    return client


def last_job(services: Services, owner: User) -> Any:
    jobs = services.store.jobs.list_for_owner(owner.id)
    return max(jobs, key=lambda j: j.created_at) if jobs else None


def run_form(client: Any, services: Services, owner: User, course_id: str, tool: str, **data: Any) -> Any:
    response = post(client, f"/courses/{course_id}/tools/{tool}", **data)
    assert response.status_code == 302, response.get_data(as_text=True)
    job_id = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    job = wait_job(services, job_id)
    assert job.state == "succeeded", job.error_internal
    page = client.get(f"/courses/{course_id}/jobs/{job_id}")
    assert page.status_code == 302 and page.headers["Location"].endswith(f"/results/{job.result_ref}")
    return job


def test_tools_page_and_course_grid(login_as: Any, english_course: Any) -> None:
    client = login_as("alice")
    course, _ = english_course
    page = client.get(f"/courses/{course.id}/tools").get_data(as_text=True)
    for tool in ("summary", "flashcards", "quiz", "glossary", "homework"):
        assert f'action="/courses/{course.id}/tools/{tool}"' in page
    assert 'name="csrf_token"' in page and "<script>" not in page
    course_page = client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert f"/courses/{course.id}/chat" in course_page and f"/courses/{course.id}/glossary" in course_page


def test_summary_from_the_form_to_a_cited_result(login_as: Any, services: Services, users: dict[str, User],
                                                 english_course: Any, worker: Any) -> None:
    client = login_as("alice")
    course, document = english_course
    job = run_form(client, services, users["alice"], course.id, "summary", length="short", style="bullets",
                   language="en")
    page = client.get(f"/results/{job.result_ref}").get_data(as_text=True)
    assert re.search(rf'href="/documents/{document.id}/file#page=\d+"', page)
    assert "biology.pdf" in page and "<li>" in page and "local" in page
    history = client.get(f"/courses/{course.id}/history").get_data(as_text=True)
    assert f"/results/{job.result_ref}" in history


def test_non_pdf_citations_open_the_page_text(login_as: Any, services: Services, users: dict[str, User],
                                              hebrew_course: Any, worker: Any) -> None:
    client = login_as("alice")
    course, document = hebrew_course
    job = run_form(client, services, users["alice"], course.id, "flashcards", count="5", language="he")
    page = client.get(f"/results/{job.result_ref}").get_data(as_text=True)
    assert re.search(rf'href="/documents/{document.id}/pages/\d+"', page)
    assert page.count('class="flashcard"') == 5


@pytest.mark.parametrize("tool, data, message", [  # the pages speak Hebrew by default
    ("flashcards", {"count": "0"}, "מספר הכרטיסיות: יש לבחור ערך בין 1 ל־50."),
    ("flashcards", {"count": "many"}, "מספר שלם"),
    ("quiz", {"count": "26"}, "בין 1 ל־25"),
    ("quiz", {"count": "3", "kind": "essay"}, "סוג השאלות"),
    ("summary", {"length": "huge"}, "האורך"),
    ("homework", {"problem": "x" * 20_000}, "ארוך מדי: 20000 תווים"),
    ("homework", {"problem": "   "}, "השדה ריק"),
])
def test_bad_input_is_refused_and_changes_nothing(login_as: Any, services: Services, users: dict[str, User],
                                                  english_course: Any, tool: str, data: dict[str, str],
                                                  message: str) -> None:
    client = login_as("alice")
    course, _ = english_course
    response = post(client, f"/courses/{course.id}/tools/{tool}", **data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert last_job(services, users["alice"]) is None


def test_a_document_of_another_course_is_refused(login_as: Any, services: Services, users: dict[str, User],
                                                 english_course: Any) -> None:
    client = login_as("alice")
    course, _ = english_course
    _, other_document = add_course(services, users["alice"], ENGLISH, name="Other")
    response = post(client, f"/courses/{course.id}/tools/summary", document_id=other_document.id)
    assert response.status_code == 400 and last_job(services, users["alice"]) is None


def test_quota_gives_429_with_a_clear_message(tmp_path: Any) -> None:
    from studybuddy.accounts import create_user
    from studybuddy.web import create_app
    from tests.conftest import PASSWORD, login

    cfg = make_config(tmp_path, quota={"daily_ai_requests": 1, "max_question_chars": 4000})
    services = Services(cfg)
    try:
        app = create_app(cfg, services)
        app.config.update(TESTING=True)
        create_user(services.store, "charlie@example.com", PASSWORD, "Charlie")  # admin: exempt
        alice = create_user(services.store, "alice@example.com", PASSWORD, "Alice")
        course, _ = add_course(services, alice, ENGLISH)
        client = app.test_client()
        login(client, "alice@example.com")
        assert post(client, f"/courses/{course.id}/tools/summary").status_code == 302
        refused = post(client, f"/courses/{course.id}/tools/glossary")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        assert "השתמשתם בכל 1 בקשות ה־AI של היום" in refused.get_data(as_text=True)
        assert len(services.store.jobs.list_for_owner(alice.id)) == 1
        asked = post(client, f"/courses/{course.id}/chat", question="What is chlorophyll?")
        assert asked.status_code == 429 and not chat.conversations(services.store, alice.id, course.id)
    finally:
        services.close()


def test_taking_a_quiz(login_as: Any, services: Services, users: dict[str, User], english_course: Any,
                       worker: Any) -> None:
    client = in_english(login_as("alice"))
    course, _ = english_course
    job = run_form(client, services, users["alice"], course.id, "quiz", count="3", kind="mc", language="en")
    take = client.get(f"/results/{job.result_ref}")
    assert take.status_code == 302 and take.headers["Location"].endswith(f"/quizzes/{job.result_ref}")
    page = client.get(f"/quizzes/{job.result_ref}").get_data(as_text=True)
    assert page.count('type="radio" name="q0"') >= 2
    questions = quiz.questions(services.store.artifacts.get(job.result_ref))
    answers = {f"q{i}": str(q["correct"]) for i, q in enumerate(questions)}
    answers["q0"] = str((questions[0]["correct"] + 1) % len(questions[0]["options"]))
    # no answer at all, or an option that does not exist: refused, nothing stored
    assert post(client, f"/quizzes/{job.result_ref}/attempts").status_code == 400
    assert post(client, f"/quizzes/{job.result_ref}/attempts", q0="9").status_code == 400
    done = post(client, f"/quizzes/{job.result_ref}/attempts", **answers)
    assert done.status_code == 302
    result = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "67%" in result and "Explanation" in result
    assert len(quiz.attempts(services.store, services.store.artifacts.get(job.result_ref))) == 1


def test_open_quiz_is_graded_by_a_job_and_labelled_approximate(login_as: Any, services: Services,
                                                               users: dict[str, User], english_course: Any,
                                                               worker: Any) -> None:
    client = in_english(login_as("alice"))
    course, _ = english_course
    job = run_form(client, services, users["alice"], course.id, "quiz", count="2", kind="open", language="en")
    questions = quiz.questions(services.store.artifacts.get(job.result_ref))
    done = post(client, f"/quizzes/{job.result_ref}/attempts", q0=questions[0]["answer"], q1="")
    attempt_id = done.headers["Location"].rsplit("/", 1)[-1]
    pending = client.get(done.headers["Location"]).get_data(as_text=True)
    attempt = services.store.items.get(attempt_id)
    job = quiz.grading_job(services.store, attempt)
    # The worker may have graded it already; otherwise the page follows the grading job.
    assert job is not None and job.params["attempt_id"] == attempt_id
    assert f'data-watch-job="{job.id}"' in pending or "approximate" in pending
    assert wait_job(services, job.id).state == "succeeded"
    assert services.store.items.get(attempt_id).data["job_id"] == job.id  # written by the worker, once
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "approximate" in page and "data-watch-job" not in page


def test_someone_elses_things_are_404(client: Any, login_as: Any, services: Services, users: dict[str, User],
                                      english_course: Any, worker: Any) -> None:
    course, _ = english_course
    alice = users["alice"]
    login_as("alice")
    job = run_form(client, services, alice, course.id, "quiz", count="2", kind="mc", language="en")
    answers = {"q0": "0", "q1": "0"}
    attempt = post(client, f"/quizzes/{job.result_ref}/attempts", **answers).headers["Location"]
    post(client, f"/courses/{course.id}/chat", question="What is chlorophyll?")
    conversation = chat.conversations(services.store, alice.id, course.id)[0]
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login_as("bob")
    for url in (f"/courses/{course.id}/tools", f"/courses/{course.id}/history", f"/courses/{course.id}/glossary",
                f"/courses/{course.id}/chat", f"/courses/{course.id}/chat/{conversation.id}",
                f"/results/{job.result_ref}", f"/quizzes/{job.result_ref}", attempt,
                f"/courses/{course.id}/jobs/{job.id}"):
        assert client.get(url).status_code == 404, url
    before = len(quiz.attempts(services.store, services.store.artifacts.get(job.result_ref)))
    for url, data in ((f"/quizzes/{job.result_ref}/attempts", answers),
                      (f"/courses/{course.id}/tools/summary", {}),
                      (f"/courses/{course.id}/chat", {"question": "hi"}),
                      (f"/courses/{course.id}/chat/{conversation.id}", {"question": "hi"})):
        assert post(client, url, **data).status_code == 404, url
    assert len(quiz.attempts(services.store, services.store.artifacts.get(job.result_ref))) == before
    assert last_job(services, users["bob"]) is None


def test_alices_conversation_in_bobs_own_course_is_404(client: Any, login_as: Any, services: Services,
                                                       users: dict[str, User], english_course: Any) -> None:
    """Bob names alice's conversation under a course he owns: the conversation check must refuse it."""
    course, _ = english_course
    alice, bob = users["alice"], users["bob"]
    conversation = chat.start_conversation(services.store, alice.id, course.id, "hi")
    chat.add_message(services.store, conversation, "user", "What is chlorophyll?")
    bobs_course, _ = add_course(services, bob, ENGLISH, name="Bob's biology")
    alices_url = f"/courses/{course.id}/chat/{conversation.id}"
    login_as("alice")
    assert client.get(alices_url).status_code == 200  # the positive control
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login_as("bob")
    bobs_url = f"/courses/{bobs_course.id}/chat/{conversation.id}"
    response = client.get(bobs_url)
    assert response.status_code == 404 and "chlorophyll" not in response.get_data(as_text=True)
    assert post(client, bobs_url, question="hi").status_code == 404
    assert [m.data["text"] for m in chat.messages(services.store, conversation)] == ["What is chlorophyll?"]
    assert last_job(services, bob) is None


def test_chat_page_shows_the_answer_when_the_job_finishes(login_as: Any, services: Services,
                                                          users: dict[str, User], english_course: Any,
                                                          worker: Any) -> None:
    client = in_english(login_as("alice"))
    course, document = english_course
    asked = post(client, f"/courses/{course.id}/chat", question="Why do plants close their stomata?", language="en")
    assert asked.status_code == 302
    conversation = chat.conversations(services.store, users["alice"].id, course.id)[0]
    assert asked.headers["Location"].endswith(f"/chat/{conversation.id}")
    user_message = chat.messages(services.store, conversation)[0]
    job = wait_job(services, user_message.data["job_id"])
    fragment = client.get(f"/results/{job.result_ref}/message").get_data(as_text=True)
    assert "save water" in fragment and re.search(rf'/documents/{document.id}/file#page=4', fragment)
    page = client.get(f"/courses/{course.id}/chat/{conversation.id}").get_data(as_text=True)
    assert "Why do plants close their stomata?" in page and "save water" in page
    follow = post(client, f"/courses/{course.id}/chat/{conversation.id}", question="and the guard cells?",
                  simple="1", language="en")
    assert follow.status_code == 302
    assert len(chat.conversations(services.store, users["alice"].id, course.id)) == 1
    too_long = post(client, f"/courses/{course.id}/chat/{conversation.id}", question="x" * 20_000)
    assert too_long.status_code == 400 and "too long" in too_long.get_data(as_text=True)


def test_glossary_page_search(login_as: Any, services: Services, users: dict[str, User], english_course: Any,
                              worker: Any) -> None:
    client = in_english(login_as("alice"))
    course, _ = english_course
    run_form(client, services, users["alice"], course.id, "glossary", count="12", language="en")
    page = client.get(f"/courses/{course.id}/glossary").get_data(as_text=True)
    assert "Chlorophyll" in page and "Stomata" in page
    found = client.get(f"/courses/{course.id}/glossary?q=pigment").get_data(as_text=True)
    assert "Chlorophyll" in found and "Stomata" not in found
    none = client.get(f"/courses/{course.id}/glossary?q=zzzz").get_data(as_text=True)
    assert "No term matches" in none


def test_markdown_is_rendered_and_sanitised() -> None:
    html = str(render_markdown("**bold** [1] <script>alert(1)</script> [x](javascript:alert(1)) <b onclick=x>",
                               {1: ("/documents/d/file#page=2", "f.pdf, p. 2")}))
    assert "<strong>bold</strong>" in html
    assert '<a class="cite" href="/documents/d/file#page=2"' in html
    assert "<script" not in html and 'href="javascript' not in html and "<b onclick" not in html


def test_json_clients_get_a_job_or_a_json_error(login_as: Any, services: Services, users: dict[str, User],
                                                english_course: Any, worker: Any) -> None:
    client = login_as("alice")
    course, _ = english_course
    headers = {"Accept": "application/json", "X-CSRF-Token": csrf_token(client)}
    bad = client.post(f"/courses/{course.id}/tools/quiz", json={"count": 99}, headers=headers)
    assert bad.status_code == 400 and "25" in bad.get_json()["error"]
    started = client.post(f"/courses/{course.id}/tools/quiz", json={"count": 2, "kind": "mc"},
                          headers=headers)
    assert started.status_code == 202
    body = started.get_json()
    job = wait_job(services, body["job_id"])
    status = client.get(body["status_url"]).get_json()
    assert status["state"] == "succeeded" and status["result"] == job.result_ref


def test_fewer_questions_than_asked_are_announced(login_as: Any, services: Services, users: dict[str, User],
                                                  worker: Any) -> None:
    client = in_english(login_as("alice"))
    course, _ = add_course(services, users["alice"], [ENGLISH[0]])
    job = run_form(client, services, users["alice"], course.id, "quiz", count="20", kind="mc", language="en")
    page = client.get(f"/quizzes/{job.result_ref}").get_data(as_text=True)
    assert "of the 20 questions could be made from this material" in page
