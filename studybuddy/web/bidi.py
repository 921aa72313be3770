"""Mixed-direction text: a student's words and file names keep their own order inside the UI's.

`text|bdi` wraps user text in <bdi> (its direction is worked out from its own letters, and it
does not move its neighbours); `citation|cite_label` is "file, p. 3" in the page's language with
the file name isolated.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import gettext
from markupsafe import Markup

from ..study.citations import PAGE_LABEL


def bdi(text: Any) -> Markup:
    return Markup("<bdi>{}</bdi>").format("" if text is None else text)


def cite_label(citation: Any) -> str:
    return str(citation.label_with(gettext(PAGE_LABEL)))


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(bdi=bdi, cite_label=cite_label)
