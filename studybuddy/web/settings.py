"""Profile and settings: display name, language, password, sessions, my data."""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, session, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import sessions
from ..accounts import MAX_PASSWORD, MIN_PASSWORD, AccountError, change_password, log_out_everywhere
from ..passwords import verify_password
from ..userdata import erase_account, export_archive
from . import LANGUAGES, get_services
from .auth import leave, resend_verification, start_session

log = logging.getLogger(__name__)
bp = Blueprint("settings", __name__)

MAX_DISPLAY_NAME = 80


def _page(status: int = 200, **errors: str) -> Any:
    store = get_services().store
    active = sessions.active_for(store, current_user.user, time.time())
    return render_template("settings/index.html", errors=errors, min_password=MIN_PASSWORD,
                           sessions=active, current_session=current_user.session.id,
                           mail_enabled=get_services().config.mail.enabled), status


@bp.route("/settings")
@login_required
def index() -> Any:
    return _page()


@bp.route("/settings/profile", methods=["POST"])
@login_required
def profile() -> Any:
    name = request.form.get("display_name", "").strip()
    language = request.form.get("language", "")
    if not name:
        return _page(400, display_name=_("Please enter a display name."))
    if len(name) > MAX_DISPLAY_NAME:
        return _page(400, display_name=_("The display name is too long (80 characters at most)."))
    if language not in LANGUAGES:
        return _page(400, language=_("Please choose a language from the list."))
    get_services().store.users.update(current_user.id, display_name=name, language=language)
    session["lang"] = language
    log.info("profile of %s updated", current_user.id)
    with force_locale(language):
        flash(_("Your settings were saved."), "info")
    return redirect(url_for("settings.index"))


@bp.route("/settings/password", methods=["POST"])
@login_required
def password() -> Any:
    current = request.form.get("current_password", "")[:MAX_PASSWORD + 1]
    new = request.form.get("new_password", "")[:MAX_PASSWORD + 1]
    if new != request.form.get("new_password2", "")[:MAX_PASSWORD + 1]:
        return _page(400, new_password=_("The two passwords do not match."))
    store = get_services().store
    try:
        change_password(store, current_user.user, current, new)
    except AccountError as exc:
        field = "current_password" if "current" in str(exc) else "new_password"
        return _page(400, **{field: _(str(exc))})
    log.info("password of %s changed; its other sessions ended", current_user.id)
    # Every session ended with the old password; this browser goes on in a new one.
    changed = store.users.get(current_user.id)
    if changed is not None:
        start_session(changed, remember=current_user.session.remember)
    flash(_("Your password was changed. Every other device was logged out."), "info")
    return redirect(url_for("settings.index"))


@bp.route("/settings/sessions/<session_id>/revoke", methods=["POST"])
@login_required
def revoke(session_id: str) -> Any:
    store = get_services().store
    record = store.accounts.sessions.get(session_id)
    if record is None or record.user_id != current_user.id:
        abort(404)
    store.accounts.sessions.delete(record.id)
    log.info("a session of %s was ended from the settings page", current_user.id)
    if record.id == current_user.session.id:
        return leave(url_for("auth.login"))
    flash(_("That device was logged out."), "info")
    return redirect(url_for("settings.index"))


@bp.route("/settings/sessions/end-all", methods=["POST"])
@login_required
def end_all() -> Any:
    log_out_everywhere(get_services().store, current_user.id)
    log.info("%s logged out everywhere", current_user.id)
    response = leave(url_for("auth.login"))
    flash(_("You were logged out on every device, this one included."), "info")
    return response


@bp.route("/settings/verify", methods=["POST"])
@login_required
def verify_again() -> Any:
    if resend_verification(current_user.user):
        flash(_("We sent a new link to %(email)s.", email=current_user.email), "info")
    return redirect(url_for("settings.index"))


@bp.route("/settings/export")
@login_required
def export() -> Any:
    archive = export_archive(get_services().store, current_user.user)
    log.info("%s downloaded their data", current_user.id)
    name = f"studybuddy-{dt.date.today().isoformat()}.zip"
    return send_file(archive, mimetype="application/zip", as_attachment=True, download_name=name,
                     max_age=0)


@bp.route("/settings/delete", methods=["POST"])
@login_required
def delete_account() -> Any:
    store = get_services().store
    user = current_user.user
    if not verify_password(user.password_hash, request.form.get("password", "")[:MAX_PASSWORD + 1]):
        return _page(400, delete_password=_("The password is not correct."))
    if user.is_admin and not any(u.is_admin and u.id != user.id and not u.disabled for u in store.users.list()):
        return _page(400, delete_password=_("You are the only administrator: make someone else an "
                                            "administrator first."))
    erase_account(store, user)
    response = leave(url_for("main.index"))
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    flash(_("Your account and everything in it were deleted."), "info")
    return response
