"""bob gets 404 for alice's course and job on every route, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from studybuddy.courses import create_course
from studybuddy.jobs import submit_job

from ..conftest import csrf_token, login


@pytest.fixture
def alices(users: Any, services: Any) -> dict[str, Any]:
    course = create_course(services.store, users["alice"].id, "הקורס של אליס")
    job = submit_job(services, "ping", users["alice"].id, course_id=course.id, params={"queue": "assess"})
    return {"course": course, "job": job}


def test_bob_gets_404_everywhere_for_alices_things(client: Any, app: Any, alices: Any, store: Any) -> None:
    login(client, "bob@example.com")
    token = csrf_token(client)
    course, job = alices["course"], alices["job"]
    skipped = {"static", "main.index", "main.set_language"}
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in skipped or not ({"course_id", "job_id"} & set(rule.arguments)):
            continue
        values = {arg: "x" for arg in rule.arguments}
        values.update({k: v for k, v in (("course_id", course.id), ("job_id", job.id)) if k in rule.arguments})
        url = rule.build(values)[1]  # type: ignore[index]
        for method in rule.methods - {"HEAD", "OPTIONS"}:  # type: ignore[operator]
            kwargs: dict[str, Any] = {"headers": {"X-CSRF-Token": token}}
            if method != "GET":
                kwargs["data"] = {"csrf_token": token, "name": "bob was here"}
            response = client.open(url, method=method, **kwargs)
            assert response.status_code == 404, (method, url, response.status_code)
            checked += 1
    assert checked >= 6
    assert store.courses.get(course.id).name == "הקורס של אליס"
    assert store.jobs.get(job.id) is not None
    assert "הקורס של אליס" not in client.get("/library").get_data(as_text=True)
    assert client.get("/api/v1/courses").get_json() == []


def test_anonymous_visitors_are_sent_to_log_in(client: Any, alices: Any) -> None:
    r = client.get(f"/courses/{alices['course'].id}")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    r = client.get(f"/api/v1/jobs/{alices['job'].id}")
    assert r.status_code == 401 and r.is_json
