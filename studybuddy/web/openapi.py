"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json.

tests/web/test_openapi.py keeps it true: every /api/v1 route is described and nothing else,
the description is valid, and schemathesis finds no response that breaks it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from .. import __version__

bp = Blueprint("openapi", __name__)

ID = {"type": "string", "minLength": 1, "maxLength": 64}
TIME = {"type": "number"}
MAYBE_TIME = {"type": ["number", "null"]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "The request was not understood (bad input, a JSON body that is not an object, or no CSRF token)",
            401: "Not logged in", 404: "No such thing, or it is not yours", 409: "Not possible in this state",
            413: "Too large", 415: "Not a supported kind of file", 429: "Too many requests",
            507: "Storage is full on the server: nothing was saved"}
    return {str(c): _json(_ref("Error"), text[c]) for c in codes}


def _path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": ID}


SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "CourseSummary": {"type": "object", "required": ["id", "name", "created_at"],
                      "properties": {"id": ID, "name": {"type": "string"}, "created_at": TIME}},
    "NewCourse": {"type": "object", "required": ["name"],
                  "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 200}}},
    "CourseCreated": {"type": "object", "required": ["id", "name"],
                      "properties": {"id": ID, "name": {"type": "string"}}},
    "Course": {
        "type": "object", "required": ["id", "name", "documents"],
        "properties": {
            "id": ID, "name": {"type": "string"},
            "documents": {"type": "array", "items": {
                "type": "object", "required": ["id", "name", "status", "error"],
                "properties": {"id": ID, "name": {"type": "string"}, "status": {"type": "string"},
                               "error": {"type": "string"}}}},
        },
    },
    "Job": {
        "type": "object",
        "required": ["id", "type", "state", "progress", "stage", "error", "result", "course_id", "document_id",
                     "created_at", "finished_at"],
        "properties": {
            "id": ID, "type": {"type": "string"},
            "state": {"enum": ["queued", "running", "succeeded", "failed", "dead"]},
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "stage": {"type": "string"}, "error": {"type": "string"}, "result": {"type": "string"},
            "course_id": {"type": "string"}, "document_id": {"type": "string"},
            "created_at": TIME, "finished_at": MAYBE_TIME,
            "state_text": {"type": "string", "description": "The state in the student's words"},
            "waiting_for_server": {"type": "boolean",
                                   "description": "Queued but not yet published: the job server is away"},
        },
    },
    "Document": {
        "type": "object",
        "required": ["id", "course_id", "name", "kind", "mime", "size", "status", "status_text", "error",
                     "progress", "stage", "page_count", "job_id", "created_at", "urls"],
        "properties": {
            "id": ID, "course_id": ID, "name": {"type": "string"}, "kind": {"type": "string"},
            "mime": {"type": "string"}, "size": {"type": "integer", "minimum": 0},
            "status": {"enum": ["uploaded", "processing", "ready", "failed"]},
            "status_text": {"type": "string"}, "error": {"type": "string"},
            "progress": {"type": "integer", "minimum": 0, "maximum": 100}, "stage": {"type": "string"},
            "page_count": {"type": "integer", "minimum": 0}, "job_id": {"type": "string"}, "created_at": TIME,
            "urls": {"type": "object", "required": ["status", "file", "pages", "delete", "retry"],
                     "properties": {k: {"type": "string"} for k in ("status", "file", "pages", "delete", "retry")}},
        },
    },
    "DocumentList": {"type": "object", "required": ["documents"],
                     "properties": {"documents": {"type": "array", "items": _ref("Document")}}},
    "UploadResult": {
        "type": "object", "required": ["documents", "errors"],
        "properties": {
            "documents": {"type": "array", "items": _ref("Document")},
            "errors": {"type": "array", "items": {
                "type": "object", "required": ["name", "error", "status"],
                "properties": {"name": {"type": "string"}, "error": {"type": "string"},
                               "status": {"type": "string"}}}},
            "error": {"type": "string"},
        },
    },
    "PastedText": {"type": "object", "required": ["text"],
                   "properties": {"title": {"type": "string", "maxLength": 200},
                                  "text": {"type": "string", "minLength": 1}}},
}

UPLOAD_ERRORS = {**_errors(400, 401, 404, 413, 415, 507), "422": _json(_ref("UploadResult"), "No file was accepted"),
                 "409": _json(_ref("UploadResult"), "No file was added: the first was already in the course")}

PATHS: dict[str, Any] = {
    "/api/v1/courses": {
        "get": {"operationId": "listCourses", "summary": "My courses",
                "responses": {"200": _json({"type": "array", "items": _ref("CourseSummary")}, "The courses"),
                              **_errors(401)}},
        "post": {"operationId": "createCourse", "summary": "Make a course",
                 "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("NewCourse")}}},
                 "responses": {"201": _json(_ref("CourseCreated"), "Made"), **_errors(400, 401)}},
    },
    "/api/v1/courses/{course_id}": {
        "parameters": [_path_id("course_id")],
        "get": {"operationId": "getCourse", "summary": "A course and its documents",
                "responses": {"200": _json(_ref("Course"), "The course"), **_errors(401, 404)}},
        "delete": {"operationId": "deleteCourse", "summary": "Delete a course and everything in it",
                   "responses": {"204": {"description": "Deleted"}, **_errors(400, 401, 404)}},
    },
    "/api/v1/courses/{course_id}/documents": {
        "parameters": [_path_id("course_id")],
        "get": {"operationId": "listDocuments", "summary": "The documents of a course",
                "responses": {"200": _json(_ref("DocumentList"), "The documents"), **_errors(401, 404)}},
        "post": {"operationId": "uploadDocuments", "summary": "Upload files (multipart, field `files`)",
                 "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                     "type": "object", "required": ["files"],
                     "properties": {"files": {"type": "array",
                                              "items": {"type": "string", "contentMediaType":
                                                        "application/octet-stream"}},
                                    "csrf_token": {"type": "string"}}}}}},
                 "responses": {"201": _json(_ref("UploadResult"), "Accepted (some files may be refused)"),
                               **UPLOAD_ERRORS}},
    },
    "/api/v1/courses/{course_id}/documents/text": {
        "parameters": [_path_id("course_id")],
        "post": {"operationId": "pasteText", "summary": "Add pasted text as a document",
                 "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("PastedText")}}},
                 "responses": {"201": _json({"type": "object", "required": ["document"],
                                             "properties": {"document": _ref("Document")}}, "Added"),
                               **_errors(400, 401, 404, 409, 413, 415, 507)}},
    },
    "/api/v1/documents/{document_id}": {
        "parameters": [_path_id("document_id")],
        "get": {"operationId": "getDocument", "summary": "A document's state",
                "responses": {"200": _json(_ref("Document"), "The document"), **_errors(401, 404)}},
        "delete": {"operationId": "deleteDocument", "summary": "Delete a document",
                   "responses": {"200": _json({"type": "object", "required": ["deleted"],
                                               "properties": {"deleted": ID}}, "Deleted"),
                                 **_errors(400, 401, 404)}},
    },
    "/api/v1/documents/{document_id}/retry": {
        "parameters": [_path_id("document_id")],
        "post": {"operationId": "retryDocument", "summary": "Process a failed document again",
                 "responses": {"202": _json(_ref("Document"), "Queued again"), **_errors(400, 401, 404, 409)}},
    },
    "/api/v1/jobs/{job_id}": {
        "parameters": [_path_id("job_id")],
        "get": {"operationId": "getJob", "summary": "A job's progress and result",
                "responses": {"200": _json(_ref("Job"), "The job"), **_errors(401, 404)}},
    },
}


def description() -> dict[str, Any]:
    paths = {}
    for path, item in PATHS.items():
        secured = {}
        for method, operation in item.items():
            if method == "parameters":
                secured[method] = operation
                continue
            needs: list[dict[str, list[str]]] = [{"session": []}] if method == "get" else [{"session": [], "csrf": []}]
            secured[method] = {**operation, "security": needs}
        paths[path] = secured
    return {
        "openapi": "3.1.0",
        "info": {"title": "StudyBuddy API", "version": __version__,
                 "description": "Courses, documents and jobs of the logged-in student. Log in through the "
                                "web page; state-changing requests carry the page's CSRF token in X-CSRF-Token."},
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "studybuddy_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
        },
    }


@bp.route("/api/v1/openapi.json")
def openapi_json() -> Any:
    return jsonify(description())
