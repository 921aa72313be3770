"""The upgrade and restore scenario's pieces: the previous release, a student's data made through
HTTP, and a snapshot of it read back through HTTP to compare before and after."""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .client import Browser
from .harness import HERE

# The last release before backups and migrations were managed by the package.
PREVIOUS_RELEASE = os.environ.get("STUDYBUDDY_E2E_PREVIOUS", "751741220eb6643b302ab3aa182fca506c972e23")

NOTES = "\n".join([
    "# פוטוסינתזה",
    "הצמח קולט אור שמש והופך אותו לאנרגיה כימית.",
    "הכלורופיל בעלים סופג בעיקר אור אדום וכחול.",
    "## המשוואה",
    "פחמן דו-חמצני ומים הופכים לסוכר ולחמצן.",
]) + "\n"


def previous_release() -> tuple[Path, Path]:
    """(.deb, ansible/) of PREVIOUS_RELEASE, built once and cached (build-previous-deb.sh)."""
    proc = subprocess.run(["sh", str(HERE / "build-previous-deb.sh"), PREVIOUS_RELEASE], capture_output=True,
                          text=True, timeout=1800, check=False)
    assert proc.returncode == 0, f"building the previous release failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-3000:]}"
    deb = Path(proc.stdout.strip().splitlines()[-1])
    return deb, deb.parent / "ansible"


@dataclass
class StudentData:
    course_id: str = ""
    document_id: str = ""
    job_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def make_student_data(browser: Browser) -> StudentData:
    status, course = browser.json("POST", "/api/v1/courses", json_body={"name": "ביולוגיה — צמחים"})
    assert status == 201, course
    status, body = browser.upload(course["id"], "פוטוסינתזה.txt", NOTES.encode(), "text/plain")
    assert status == 201, body
    document = browser.wait_for_document(body["documents"][0]["id"], timeout=120)
    assert document["status"] == "ready", document
    status, started = browser.json("POST", f"/courses/{course['id']}/tools/summary", json_body={})
    assert status == 202, started
    job = browser.wait_for_job(started["job_id"], timeout=120)
    assert job["state"] == "succeeded", job
    return StudentData(course["id"], document["id"], job["id"])


def snapshot(browser: Browser, data: StudentData) -> dict[str, Any]:
    """What the student sees, through HTTP: courses, documents, the file's bytes, the summary."""
    out: dict[str, Any] = {}
    status, out["courses"] = browser.json("GET", "/api/v1/courses")
    assert status == 200, out["courses"]
    status, out["course"] = browser.json("GET", f"/api/v1/courses/{data.course_id}")
    assert status == 200, out["course"]
    status, out["document"] = browser.json("GET", f"/api/v1/documents/{data.document_id}")
    assert status == 200, out["document"]
    status, _, content = browser.request("GET", f"/documents/{data.document_id}/file", headers={"Accept": "*/*"})
    assert status == 200
    out["file_sha256"] = hashlib.sha256(content).hexdigest()
    status, job = browser.json("GET", f"/api/v1/jobs/{data.job_id}")
    assert status == 200, job
    out["job"] = {k: job.get(k) for k in ("state", "result", "type", "course_id", "finished_at")}
    status, _, page = browser.request("GET", f"/results/{job['result']}", headers={"Accept": "text/html"})
    text = page.decode()
    assert status == 200 and "פוטוסינתזה.txt" in text, text[:500]
    out["summary_cites_the_file"] = True
    return out
