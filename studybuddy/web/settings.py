"""Profile and settings: display name, language, password."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..accounts import MIN_PASSWORD, AccountError, change_password
from . import LANGUAGES, get_services

log = logging.getLogger(__name__)
bp = Blueprint("settings", __name__)

MAX_DISPLAY_NAME = 80


def _page(status: int = 200, **errors: str) -> Any:
    return render_template("settings/index.html", errors=errors, min_password=MIN_PASSWORD), status


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
    current = request.form.get("current_password", "")
    new = request.form.get("new_password", "")
    if new != request.form.get("new_password2", ""):
        return _page(400, new_password=_("The two passwords do not match."))
    try:
        change_password(get_services().store, current_user.user, current, new)
    except AccountError as exc:
        field = "current_password" if "current" in str(exc) else "new_password"
        return _page(400, **{field: _(str(exc))})
    log.info("password of %s changed", current_user.id)
    flash(_("Your password was changed."), "info")
    return redirect(url_for("settings.index"))
