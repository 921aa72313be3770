"""The administrator's console: users, storage and AI usage, the job queue, the monitor, health.

Only administrators see it; anyone else gets a 404 on every route, as if it did not exist.
Every change made here is written to the audit log, which the console shows.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import accounts
from ..ai import quota
from ..health import detailed_results
from ..store.account_models import AuditEntry
from ..store.models import JOB_STATES, User, new_id
from ..throttle import LoginThrottle, account_key
from . import get_services
from .documents import check_csrf

log = logging.getLogger(__name__)
bp = Blueprint("admin", __name__, url_prefix="/admin")

ACTION_MESSAGES = {
    "cancelled": "Cancelled by the administrator.",
    "disable": "The account was disabled and logged out everywhere.",
    "enable": "The account was enabled.",
    "unlock": "The account may log in again.",
    "reset-quota": "Today's AI requests were given back.",
    "make-admin": "The account is now an administrator.",
    "remove-admin": "The account is no longer an administrator.",
    "logout": "The account was logged out everywhere.",
}
CANCELLED = ACTION_MESSAGES["cancelled"]
MAX_SEARCH = 200


@bp.record_once
def _check_csrf_after_the_admin_check(state: Any) -> None:
    # Anyone but an admin must get a 404 before anything else, a failed CSRF check included.
    csrf = state.app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(bp)


@bp.before_request
def admins_only() -> None:
    if not (current_user.is_authenticated and current_user.is_admin):
        abort(404)
    check_csrf()


def audit(action: str, target_id: str = "", **detail: Any) -> None:
    get_services().store.accounts.audit.add(AuditEntry(new_id(), current_user.id, action, target_id, detail))
    log.info("admin %s: %s %s", current_user.id, action, target_id)


def _user_or_404(user_id: str) -> User:
    user = get_services().store.users.get(user_id)
    if user is None:
        abort(404)
    return user


def _ai_usage(user: User, days: int = 7) -> list[tuple[str, int]]:
    services = get_services()
    store = services.store
    # The quota's days are local days in the configured time zone.
    today = dt.datetime.now(ZoneInfo(services.config.app.timezone)).date()
    return [(d.isoformat(), store.counters.get(f"ai_requests:{user.id}:{d.isoformat()}"))
            for d in (today - dt.timedelta(days=i) for i in range(days))]


@bp.route("")
def index() -> Any:
    services = get_services()
    store = services.store
    return render_template("admin/index.html", users=store.users.count(), jobs=store.jobs.count_by_state(),
                           incidents=_open_incidents(), report=_last_report(),
                           locked=LoginThrottle(store, services.config.accounts).locked(),
                           audit_log=store.accounts.audit.recent(10), users_by_id=_users_by_id())


@bp.route("/users")
def users() -> Any:
    services = get_services()
    store = services.store
    query = request.args.get("q", "")[:MAX_SEARCH].strip().lower()
    found = [u for u in store.users.list()
             if not query or query in u.email.lower() or query in u.display_name.lower()]
    storage = store.accounts.storage_bytes()
    locked = {s.key for s in LoginThrottle(store, services.config.accounts).locked()}
    rows = [{"user": u, "storage": storage.get(u.id, 0), "ai_today": quota.usage(store, services.config, u).used,
             "locked": account_key(u.email) in locked} for u in found]
    return render_template("admin/users.html", rows=rows, query=query)


@bp.route("/users/<user_id>")
def user(user_id: str) -> Any:
    services = get_services()
    store = services.store
    target = _user_or_404(user_id)
    courses = store.courses.list_for_owner(target.id)
    documents = sum(len(store.documents.list_for_course(c.id)) for c in courses)
    state = store.accounts.throttle.get(account_key(target.email))
    return render_template("admin/user.html", target=target, courses=len(courses), documents=documents,
                           storage=store.accounts.storage_bytes().get(target.id, 0), usage=_ai_usage(target),
                           sessions=len(store.accounts.sessions.list_for_user(target.id)),
                           locked_until=state.locked_until if state and state.locked_until > time.time() else 0,
                           jobs=store.jobs.list_for_owner(target.id, limit=20))


def _disable(target: User) -> None:
    if target.id == current_user.id:
        raise accounts.AccountError("You cannot disable your own account.")
    accounts.set_disabled(get_services().store, target.id, True)


def _remove_admin(target: User) -> None:
    if target.id == current_user.id:
        raise accounts.AccountError("You cannot remove your own administrator rights.")
    get_services().store.users.update(target.id, is_admin=False)


USER_ACTIONS: dict[str, Callable[[User], Any]] = {
    "disable": _disable,
    "enable": lambda u: accounts.set_disabled(get_services().store, u.id, False),
    "unlock": lambda u: LoginThrottle(get_services().store, get_services().config.accounts).unlock(
        account_key(u.email)),
    "reset-quota": lambda u: quota.reset_today(get_services().store, get_services().config, u),
    "make-admin": lambda u: get_services().store.users.update(u.id, is_admin=True),
    "remove-admin": _remove_admin,
    "logout": lambda u: accounts.log_out_everywhere(get_services().store, u.id),
}


@bp.route("/users/<user_id>/<action>", methods=["POST"])
def user_action(user_id: str, action: str) -> Any:
    target = _user_or_404(user_id)
    if action not in USER_ACTIONS:
        abort(404)
    try:
        USER_ACTIONS[action](target)
    except accounts.AccountError as exc:
        flash(_(str(exc)), "error")
        return redirect(url_for("admin.user", user_id=target.id)), 303
    audit(action, target.id, email=target.email)
    flash(_(ACTION_MESSAGES[action]), "info")
    return redirect(url_for("admin.user", user_id=target.id)), 303


@bp.route("/address-locks/<path:key>/unlock", methods=["POST"])
def unlock_key(key: str) -> Any:
    if not key.startswith(("address:", "account:")):
        abort(404)
    LoginThrottle(get_services().store, get_services().config.accounts).unlock(key)
    audit("unlock", key)
    flash(_("The lock was lifted."), "info")
    return redirect(url_for("admin.index")), 303


@bp.route("/jobs")
def jobs() -> Any:
    store = get_services().store
    state = request.args.get("state", "running")
    if state not in JOB_STATES:
        state = "running"
    return render_template("admin/jobs.html", state=state, states=JOB_STATES, counts=store.jobs.count_by_state(),
                           jobs=store.accounts.jobs_in_state(state, 200), users_by_id=_users_by_id())


@bp.route("/jobs/<job_id>/<action>", methods=["POST"])
def job_action(job_id: str, action: str) -> Any:
    store = get_services().store
    job = store.jobs.get(job_id)
    if job is None or action not in ("retry", "cancel"):
        abort(404)
    now = time.time()
    done = store.accounts.retry_job(job.id, now) if action == "retry" else store.accounts.cancel_job(
        job.id, now, CANCELLED)
    if not done:
        flash(_("This job cannot be changed now (its state is %(state)s).", state=job.state), "error")
    else:
        audit(f"job-{action}", job.id, type=job.type, owner=job.owner_id)
        if action == "retry":
            _publish(job_id)
        flash(_("The job was sent again.") if action == "retry" else _("The job was cancelled."), "info")
    return redirect(url_for("admin.jobs", state=request.args.get("state", job.state))), 303


def _publish(job_id: str) -> None:
    """Ring the broker's bell now; if it is down the reaper dispatches the job later."""
    from ..jobs.service import dispatch

    services = get_services()
    job = services.store.jobs.get(job_id)
    try:
        if job is not None:
            dispatch(services, job)
    except Exception as exc:  # noqa: BLE001 - the reaper is the fallback
        log.warning("could not publish retried job %s now: %s", job_id, exc)


def _open_incidents() -> list[dict[str, Any]]:
    state = get_services().store.monitor.get_state("policy") or {}
    incidents = [i for i in (state.get("incidents") or {}).values() if isinstance(i, dict)]
    incidents.sort(key=lambda i: i.get("since", 0))
    return [{**i, "key": i.get("label") or i.get("cause", "")} for i in incidents]


def _last_report() -> Any:
    reports = get_services().store.monitor.events(since=time.time() - 8 * 86400, kind="report", limit=1000)
    return reports[-1] if reports else None


def _users_by_id() -> dict[str, User]:
    return {u.id: u for u in get_services().store.users.list()}


@bp.route("/monitor")
def monitor() -> Any:
    services = get_services()
    results = detailed_results(services)
    events = services.store.monitor.events(since=time.time() - 7 * 86400, limit=100_000)
    notable = [e for e in events if e.kind != "round"][-50:][::-1]
    return render_template("admin/monitor.html", results=results, incidents=_open_incidents(),
                           report=_last_report(), events=notable)


@bp.route("/audit")
def audit_log() -> Any:
    return render_template("admin/audit.html", entries=get_services().store.accounts.audit.recent(500),
                           users_by_id=_users_by_id())
