"""Mixed-direction text: a student's words and file names keep their own order inside the UI's.

`text|bdi` wraps user text in <bdi> (its direction is worked out from its own letters, and it
does not move its neighbours); `citation|cite_label` is "file, p. 3" in the page's language with
the file name isolated.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import gettext
from markupsafe import Markup, escape

from ..study.citations import PAGE_LABEL


def file_name(text: Any) -> Markup:
    """A name that ends in a file extension, with the extension kept left-to-right next to what
    precedes it: in a right-to-left name "הרצאה 2.docx" shows as "2.docx" at its end, not "docx.2".
    (An embedding, not an isolate: the extension joins the run of the number before it.)"""
    value = "" if text is None else str(text)
    dot = value.rfind(".")
    if dot <= 0 or len(value) - dot > 6 or not value[dot + 1:].isalnum() or not value[dot + 1:].isascii():
        return escape(value)
    return Markup(f'{escape(value[:dot])}<span class="file-ext">{escape(value[dot:])}</span>')


def isolate(value: Any) -> Any:
    """Text inside a plain-text message, in Unicode isolates (FSI ... PDI): a Hebrew message keeps
    its direction around "notes.zip", in a page and in JSON alike (other values pass as they are)."""
    return f"\u2068{value}\u2069" if isinstance(value, str) else value


def bdi(text: Any) -> Markup:
    return Markup("<bdi>{}</bdi>").format("" if text is None else text)


def cite_label(citation: Any) -> str:
    return str(citation.label_with(gettext(PAGE_LABEL)))


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(bdi=bdi, cite_label=cite_label, file_name=file_name)
