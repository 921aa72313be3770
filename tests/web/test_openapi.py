"""The OpenAPI description of /api/v1 is valid, covers every route and nothing else, and what the
API really answers matches it (schemathesis fuzzes it against a live app: tests/api/fuzz.py)."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
from openapi_spec_validator import validate

from studybuddy.courses import create_course
from studybuddy.web.openapi import description

from ..conftest import csrf_token


def _flask_operations(app: Any) -> set[tuple[str, str]]:
    out = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "openapi.openapi_json":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        out |= {(m.lower(), path) for m in rule.methods - {"HEAD", "OPTIONS"}}  # type: ignore[operator]
    return out


def test_the_description_is_valid_openapi_3_1(client: Any) -> None:
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200 and served.get_json() == description()
    assert served.get_json()["openapi"].startswith("3.1")
    validate(served.get_json())


def test_every_api_route_is_described_and_nothing_else(app: Any) -> None:
    described = {(m, p) for p, item in description()["paths"].items() for m in item if m != "parameters"}
    assert described == _flask_operations(app)


def _check(spec: dict[str, Any], method: str, path: str, response: Any) -> None:
    operation = spec["paths"][path][method]
    declared = operation["responses"].get(str(response.status_code))
    assert declared is not None, f"{method.upper()} {path}: {response.status_code} is not described"
    if "content" not in declared:
        assert not response.data
        return
    assert response.mimetype == "application/json"
    schema = {"components": spec["components"], **declared["content"]["application/json"]["schema"]}
    jsonschema.validate(response.get_json(), schema, cls=jsonschema.Draft202012Validator)


def test_real_answers_match_the_description(login_as: Any, users: Any, store: Any, app: Any) -> None:
    spec = description()
    anonymous = app.test_client()
    _check(spec, "get", "/api/v1/courses", anonymous.get("/api/v1/courses"))
    _check(spec, "post", "/api/v1/courses", anonymous.post("/api/v1/courses", json={"name": "x"}))
    client = login_as("alice")
    headers = {"X-CSRF-Token": csrf_token(client)}
    created = client.post("/api/v1/courses", json={"name": "ביולוגיה"}, headers=headers)
    _check(spec, "post", "/api/v1/courses", created)
    _check(spec, "post", "/api/v1/courses", client.post("/api/v1/courses", json={"name": ""}, headers=headers))
    _check(spec, "post", "/api/v1/courses", client.post("/api/v1/courses", json=[1], headers=headers))
    course_id = created.get_json()["id"]
    _check(spec, "get", "/api/v1/courses", client.get("/api/v1/courses"))
    pasted = client.post(f"/api/v1/courses/{course_id}/documents/text", headers=headers,
                         json={"title": "הערות", "text": "הקפיברה היא המכרסם הגדול ביותר."})
    _check(spec, "post", "/api/v1/courses/{course_id}/documents/text", pasted)
    document = pasted.get_json()["document"]
    _check(spec, "get", "/api/v1/courses/{course_id}", client.get(f"/api/v1/courses/{course_id}"))
    _check(spec, "get", "/api/v1/courses/{course_id}/documents", client.get(f"/api/v1/courses/{course_id}/documents"))
    _check(spec, "get", "/api/v1/documents/{document_id}", client.get(f"/api/v1/documents/{document['id']}"))
    _check(spec, "get", "/api/v1/jobs/{job_id}", client.get(f"/api/v1/jobs/{document['job_id']}"))
    _check(spec, "post", "/api/v1/documents/{document_id}/retry",
           client.post(f"/api/v1/documents/{document['id']}/retry", headers=headers))
    upload = client.post(f"/api/v1/courses/{course_id}/documents", headers=headers,
                         data={"files": [], "csrf_token": headers["X-CSRF-Token"]})
    _check(spec, "post", "/api/v1/courses/{course_id}/documents", upload)
    bobs = create_course(store, users["bob"].id, "bob's")
    _check(spec, "get", "/api/v1/courses/{course_id}", client.get(f"/api/v1/courses/{bobs.id}"))
    _check(spec, "delete", "/api/v1/documents/{document_id}",
           client.delete(f"/api/v1/documents/{document['id']}", headers=headers))
    _check(spec, "delete", "/api/v1/courses/{course_id}", client.delete(f"/api/v1/courses/{course_id}",
                                                                        headers=headers))
    _check(spec, "get", "/api/v1/jobs/{job_id}", client.get("/api/v1/jobs/nope"))
