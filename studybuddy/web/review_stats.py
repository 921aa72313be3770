"""Progress pages (overall and per course) and the student's review settings: desired retention,
new cards a day, and fitting FSRS parameters to their own log."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import replace
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_date, format_datetime, format_percent
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..study.progress import Progress, progress
from ..study.review import ReviewError, parse_settings, reschedule_all, save_settings
from ..study.scheduling import DEFAULT_PARAMETERS, OPTIMISE_MIN_REVIEWS, fit_parameters, with_parameters
from . import get_services
from .access import owned_course
from .charts import bar_chart, share_bar
from .review import prepare, settings, timezone

log = logging.getLogger(__name__)
stats_bp = Blueprint("review_stats", __name__)
settings_bp = Blueprint("review_settings", __name__)

STATE_TEXT = {"new": "New", "learning": "Learning", "review": "Review", "relearning": "Relearning"}


def charts(data: Progress, rtl: bool) -> dict[str, Any]:
    def day(d: Any) -> str:
        return str(format_date(d, "d/M"))

    return {
        "reviews": bar_chart(data.reviews_per_day, [day(d) for d in data.days], rtl=rtl, css="chart-reviews",
                             title=_("Reviews a day, the last 30 days")),
        "retention": bar_chart(data.retention_per_week, [day(d) for d in data.weeks], rtl=rtl, y_max=1.0,
                               css="chart-retention", value_text=lambda v: str(format_percent(v)), label_every=3,
                               target=data.target, target_label=_("target %(p)s", p=format_percent(data.target)),
                               title=_("True retention a week, against your target")),
        "forecast": bar_chart(data.forecast, [day(d) for d in data.forecast_days], rtl=rtl, css="chart-forecast",
                              title=_("Cards due in the next 30 days")),
        "states": share_bar([(_(STATE_TEXT[name]), count, f"state-{name}") for name, count in data.states.items()],
                            rtl=rtl, title=_("Cards by state")),
    }


def _page(title: str, course_id: str | None) -> Any:
    chosen = prepare()
    data = progress(get_services().store, current_user.id, chosen, timezone(), time.time(), course_id)
    rtl = _lang() == "he"
    return render_template("review/progress.html", title=title, data=data, charts=charts(data, rtl),
                           state_labels=STATE_TEXT, zip=zip, format_date=format_date, format_percent=format_percent)


def _lang() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "he")


@stats_bp.route("/review/progress")
@login_required
def overall() -> Any:
    return _page(_("All courses"), None)


@stats_bp.route("/review/courses/<course_id>/progress")
@login_required
def course(course_id: str) -> Any:
    found = owned_course(course_id)
    return _page(found.name, found.id)


def _settings_page(chosen: Any, status: int = 200) -> Any:
    when = ""
    if chosen.optimised_at:
        when = format_datetime(dt.datetime.fromtimestamp(chosen.optimised_at, dt.timezone.utc))
    return render_template("review/settings.html", settings=chosen, optimised_when=when,
                           reviews=get_services().store.reviews.count_for_owner(current_user.id),
                           needed=OPTIMISE_MIN_REVIEWS), status


@settings_bp.route("/review/settings", methods=["GET", "POST"])
@login_required
def index() -> Any:
    store = get_services().store
    chosen = settings()
    if request.method == "POST":
        try:
            updated = parse_settings(request.form, chosen)
        except ReviewError as exc:
            flash(_(str(exc)), "error")
            return _settings_page(chosen, 400)
        save_settings(store, current_user.id, updated)
        if updated.desired_retention != chosen.desired_retention:
            reschedule_all(store, current_user.id, updated)
        flash(_("Your review settings were saved."), "info")
        return redirect(url_for("review_settings.index"))
    return _settings_page(chosen)


@settings_bp.route("/review/settings/optimise", methods=["POST"])
@login_required
def optimise() -> Any:
    store = get_services().store
    chosen = settings()
    reviews = store.reviews.list_for_owner(current_user.id)
    if len(reviews) < OPTIMISE_MIN_REVIEWS:
        flash(_("You have %(n)s reviews; fitting your own parameters needs at least %(needed)s.",
                n=len(reviews), needed=OPTIMISE_MIN_REVIEWS), "error")
        return redirect(url_for("review_settings.index"))
    try:
        fit = fit_parameters(reviews, chosen.parameters)
    except (ValueError, RuntimeError) as exc:
        log.warning("fitting parameters for %s failed: %s", current_user.id, exc)
        flash(_("Your parameters could not be fitted from this history. Keep reviewing and try again later."),
              "error")
        return redirect(url_for("review_settings.index"))
    updated = with_parameters(chosen, fit.parameters, fit.reviews, time.time())
    save_settings(store, current_user.id, updated)
    changed = reschedule_all(store, current_user.id, updated)
    log.info("parameters of %s fitted on %d reviews (log loss %.4f -> %.4f), %d cards rescheduled",
             current_user.id, fit.reviews, fit.log_loss_before, fit.log_loss_after, changed)
    flash(_("Your parameters were fitted to %(n)s reviews of %(cards)s cards; %(changed)s cards were rescheduled.",
            n=fit.reviews, cards=fit.cards, changed=changed), "info")
    return redirect(url_for("review_settings.index"))


@settings_bp.route("/review/settings/reset", methods=["POST"])
@login_required
def reset() -> Any:
    store = get_services().store
    updated = replace(settings(), parameters=DEFAULT_PARAMETERS, optimised_at=0.0, optimised_reviews=0)
    save_settings(store, current_user.id, updated)
    reschedule_all(store, current_user.id, updated)
    flash(_("The default parameters are back."), "info")
    return redirect(url_for("review_settings.index"))
