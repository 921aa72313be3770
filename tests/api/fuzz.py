"""Fuzz /api/v1 with schemathesis against a live app: `python -m tests.api.fuzz` (make fuzz; CI).

The app is served the way `studybuddy run` serves it (waitress with our body limits, real
SQLite, the in-process broker and a worker) on a loopback port. A student is signed up and
logged in; schemathesis gets the session cookie and the CSRF header, reads the description
the app serves at /api/v1/openapi.json and sends generated requests, bounded in examples and
time. Any 500, or any answer the description does not allow, fails the run.

Two passes. The first generates every parameter, identifiers included, and follows the
description's links from what it creates. Generated identifiers name nothing, so there every
operation on one course, document or job mostly answers 404. The second pass fixes those
identifiers to a course, a document and its job the student really has, so the generated
bodies and queries reach the code behind the lookup. DELETE is left out there: its only input
is the identifier, and the first request would delete what the others need.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

from studybuddy.accounts import create_user
from studybuddy.services import Services
from studybuddy.web import create_app
from studybuddy.web.serve import body_limit_for, create_our_server, request_body_limit
from studybuddy.worker.consumer import Worker
from tests.conftest import PASSWORD, make_config

MAX_EXAMPLES = int(os.environ.get("STUDYBUDDY_FUZZ_EXAMPLES", "25"))
MAX_SECONDS = int(os.environ.get("STUDYBUDDY_FUZZ_SECONDS", "120"))
# The second pass, on real identifiers.
KNOWN_SECONDS = int(os.environ.get("STUDYBUDDY_FUZZ_KNOWN_SECONDS", "60"))
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance",
          "response_headers_conformance", "negative_data_rejection", "use_after_free", "ignored_auth")
NOT_CHECKED = ("allow_header_conformance", "ensure_resource_availability", "missing_required_header",
               "object_level_authorization", "positive_data_acceptance", "unsupported_method")
# The checks are chosen in the configuration file, not with --checks, which would override the
# choice made below for one operation.
CHECKS_CONFIG = "[checks]\n" + "".join(f"{name}.enabled = {str(name in CHECKS).lower()}\n"
                                       for name in CHECKS + NOT_CHECKED)


# A file in a multipart body is bytes, whatever type the generator meant: an "invalid" array item
# arrives as a text file reading "[null]", which the upload rightly takes. So no generated upload
# body is invalid, and the check that invalid ones are refused does not apply to it.
UPLOAD_BODIES_ARE_BYTES = ('[[operations]]\ninclude-operation-id = "uploadDocuments"\n'
                           'checks.negative_data_rejection.enabled = false\n')


def _log_in(base: str) -> tuple[str, str]:
    """The session cookie and CSRF token of a logged-in student."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      opener.open(base + "/login").read().decode()).group(1)  # type: ignore[union-attr]
    form = urllib.parse.urlencode({"email": "fuzz@example.com", "password": PASSWORD, "csrf_token": token})
    page = opener.open(base + "/login", data=form.encode()).read().decode()
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    cookie = next(c for c in jar if c.name == "studybuddy_session")
    return f"{cookie.name}={cookie.value}", token


def _seed(services: Services) -> dict[str, str]:
    """A course of the fuzzing student with a document ingested by the worker: the identifiers
    of the second pass."""
    from studybuddy.courses import create_course
    from studybuddy.ingest.upload import accept_text

    student = services.store.users.get_by_email("fuzz@example.com")
    assert student is not None
    course = create_course(services.store, student.id, "קורס לבדיקה")
    document = accept_text(services, course, "notes.txt", "Cells make energy in the mitochondria.\n" * 20)
    deadline = time.monotonic() + 60
    while (services.store.documents.get(document.id) or document).status not in ("ready", "failed"):
        if time.monotonic() > deadline:
            raise SystemExit("the seeded document was not ingested within 60 s")
        time.sleep(0.1)
    return {"course_id": course.id, "document_id": document.id, "job_id": document.job_id}


def _schemathesis(config: Path, text: str, base: str, seconds: int, env: dict[str, str], *extra: str) -> int:
    config.write_text(text)
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(config), "run",
        f"{base}/api/v1/openapi.json",
        "--max-examples", str(MAX_EXAMPLES), "--max-time", str(seconds),
        "--workers", "1", "--seed", os.environ.get("STUDYBUDDY_FUZZ_SEED", "1414"),
        "--request-timeout", "20", "--generation-codec", "utf-8", "--suppress-health-check", "all",
        *extra, *sys.argv[1:],
    ]
    print("running:", " ".join(command), flush=True)
    return subprocess.run(command, env=env, timeout=seconds + 120, check=False).returncode


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="studybuddy-fuzz-") as tmp:
        cfg = make_config(Path(tmp))
        services = Services(cfg)
        create_user(services.store, "fuzz-admin@example.com", PASSWORD, "Admin")
        create_user(services.store, "fuzz@example.com", PASSWORD, "Fuzz")
        worker = Worker(services)
        worker.start()
        app = create_app(cfg, services)
        server = create_our_server(app, "127.0.0.1", 0, threads=4, max_body=request_body_limit(cfg),
                                   body_limit_for=body_limit_for(app, cfg))

        def run() -> None:
            try:
                server.run()
            except OSError:
                pass

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{server.effective_port}"
        try:
            cookie, token = _log_in(base)
            # The credentials fill the description's security schemes, so schemathesis also knows
            # how to leave them out (and expects a 401 then).
            auth = ('[auth.openapi.session]\napi_key = "${STUDYBUDDY_FUZZ_SESSION}"\n'
                    '[auth.openapi.csrf]\napi_key = "${STUDYBUDDY_FUZZ_CSRF}"\n' + CHECKS_CONFIG
                    + UPLOAD_BODIES_ARE_BYTES)
            env = {**os.environ, "STUDYBUDDY_FUZZ_SESSION": cookie.partition("=")[2], "STUDYBUDDY_FUZZ_CSRF": token}
            generated = _schemathesis(Path(tmp) / "generated.toml", auth, base, MAX_SECONDS, env)
            known = _seed(services)  # after the first pass, whose deletes might have found it
            fixed = "[parameters]\n" + "".join(f'"path.{name}" = "{value}"\n' for name, value in known.items())
            on_known = _schemathesis(Path(tmp) / "known.toml", auth + fixed, base, KNOWN_SECONDS, env,
                                     "--exclude-method", "DELETE", "--phases", "coverage,fuzzing")
            return generated or on_known
        finally:
            server.close()
            worker.stop(timeout=30)
            services.close()


if __name__ == "__main__":
    sys.exit(main())
