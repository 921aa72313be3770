"""The administrator's console: admins only (everyone else gets a 404 on every route), and every
change is in the audit log."""

from __future__ import annotations

import time
from typing import Any

import pytest

from studybuddy.ai import quota
from studybuddy.jobs import submit_job
from studybuddy.store.models import Job, new_id

from ..conftest import csrf_token, login


@pytest.fixture
def targets(users: Any, services: Any) -> dict[str, str]:
    job = submit_job(services, "ping", users["alice"].id, params={"queue": "assess"})
    return {"user_id": users["alice"].id, "job_id": job.id, "action": "unlock", "key": "account:alice@example.com"}


def _console_urls(app: Any, targets: dict[str, str]) -> list[tuple[str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin."):
            continue
        values = {arg: targets[arg] for arg in rule.arguments}
        if rule.endpoint == "admin.job_action":
            values["action"] = "cancel"
        url = rule.build(values)[1]  # type: ignore[index]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):  # type: ignore[operator]
            out.append((method, url))
    return out


def test_every_console_route_is_a_404_for_non_admins(app: Any, client: Any, targets: Any, store: Any) -> None:
    urls = _console_urls(app, targets)
    assert len(urls) >= 9
    anonymous = app.test_client()
    login(client, "bob@example.com")
    token = csrf_token(client)
    for method, url in urls:
        for who in (client, anonymous):
            r = who.open(url, method=method, data={"csrf_token": token}, headers={"X-CSRF-Token": token})
            assert r.status_code == 404, (method, url, r.status_code)
    assert store.jobs.get(targets["job_id"]).state == "queued"
    assert store.accounts.audit.recent() == []
    # Positive control: the administrator reaches every one of them.
    admin = app.test_client()
    login(admin, "charlie@example.com")
    token = csrf_token(admin)
    for method, url in urls:
        r = admin.open(url, method=method, data={"csrf_token": token})
        assert r.status_code in (200, 303), (method, url, r.status_code)
    assert store.jobs.get(targets["job_id"]).state == "failed"


def test_disable_is_audited_and_ends_the_students_sessions(app: Any, users: Any, store: Any) -> None:
    alice = app.test_client()
    login(alice, "alice@example.com")
    admin = app.test_client()
    login(admin, "charlie@example.com")
    r = admin.post(f"/admin/users/{users['alice'].id}/disable", data={"csrf_token": csrf_token(admin)})
    assert r.status_code == 303
    assert store.users.get(users["alice"].id).disabled
    assert alice.get("/library").status_code == 302
    entry = store.accounts.audit.recent()[0]
    assert (entry.actor_id, entry.action, entry.target_id) == (users["charlie"].id, "disable", users["alice"].id)
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert "disable" in page and "alice@example.com" in page
    admin.post(f"/admin/users/{users['alice'].id}/enable", data={"csrf_token": csrf_token(admin)})
    assert not store.users.get(users["alice"].id).disabled


def test_an_admin_cannot_disable_themself(app: Any, users: Any, store: Any) -> None:
    admin = app.test_client()
    login(admin, "charlie@example.com")
    r = admin.post(f"/admin/users/{users['charlie'].id}/disable", data={"csrf_token": csrf_token(admin)},
                   follow_redirects=True)
    assert "אי אפשר להשבית את החשבון של עצמך" in r.get_data(as_text=True)
    assert not store.users.get(users["charlie"].id).disabled and store.accounts.audit.recent() == []


def test_make_admin_and_reset_quota(app: Any, users: Any, store: Any, cfg: Any) -> None:
    alice = users["alice"]
    quota.check_and_count(store, cfg, alice)
    assert quota.usage(store, cfg, alice).used == 1
    admin = app.test_client()
    login(admin, "charlie@example.com")
    admin.post(f"/admin/users/{alice.id}/reset-quota", data={"csrf_token": csrf_token(admin)})
    assert quota.usage(store, cfg, alice).used == 0
    admin.post(f"/admin/users/{alice.id}/make-admin", data={"csrf_token": csrf_token(admin)})
    assert store.users.get(alice.id).is_admin
    assert [e.action for e in store.accounts.audit.recent()] == ["make-admin", "reset-quota"]


def test_users_search_storage_and_job_retry(app: Any, users: Any, store: Any, services: Any) -> None:
    dead = store.jobs.add(Job(new_id(), "ping", "assess", users["bob"].id, state="dead", attempts=4,
                              error_user="This task failed too many times. Please try again later.",
                              finished_at=time.time()))
    admin = app.test_client()
    login(admin, "charlie@example.com")
    page = admin.get("/admin/users?q=ALI").get_data(as_text=True)
    assert "alice@example.com" in page and "bob@example.com" not in page
    page = admin.get("/admin/jobs?state=dead").get_data(as_text=True)
    assert dead.id in page and "bob@example.com" in page
    r = admin.post(f"/admin/jobs/{dead.id}/retry?state=dead", data={"csrf_token": csrf_token(admin)})
    assert r.status_code == 303
    assert store.jobs.get(dead.id).state == "queued" and store.jobs.get(dead.id).attempts == 0
    assert store.accounts.audit.recent()[0].action == "job-retry"
    assert admin.get("/admin/monitor").status_code == 200


def test_the_monitor_page_lists_one_row_per_incident_not_per_check(app: Any, users: Any, store: Any) -> None:
    store.monitor.set_state("policy", {
        "checks": {"web:ready": {"state": "failing", "strikes": 3},
                   "worker:canary:assess": {"state": "failing", "strikes": 3}},
        "incidents": {"broker": {"cause": "broker", "label": "broker", "state": "failing", "since": time.time(),
                                 "output": "the broker does not answer"}},
    })
    admin = app.test_client()
    login(admin, "charlie@example.com")
    page = admin.get("/admin/monitor").get_data(as_text=True)
    rows = page.split("data-incidents", 1)[1].split("</table>", 1)[0]
    assert rows.count("<tr>") == 1 and "the broker does not answer" in rows and "broker" in rows
