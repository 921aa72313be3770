"""waitress' own refusal of a body over its limit, answered like our other errors.

waitress refuses a request whose Content-Length passes max_request_body_size before the app
sees it, with a plain English page. Its error task is replaced by one that asks the app to
render the refusal: JSON or HTML as the request wants, in the student's language (their
setting, their session's choice, or the default).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from waitress.task import ErrorTask

from ..ingest import messages

log = logging.getLogger(__name__)

MB = 1024 * 1024


def render_too_large(app: Flask, request: Any, max_body: int) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers, body) of our 413 for a request waitress parsed but refused."""
    from flask_babel import gettext as _

    from .errors import error_response

    headers = {key.replace("_", "-").title(): value for key, value in (request.headers or {}).items()
               if key not in ("CONTENT_LENGTH", "TRANSFER_ENCODING")}
    path = (getattr(request, "path", "") or "/")
    with app.test_request_context(path, method=getattr(request, "command", "") or "POST", headers=headers):
        message = _(messages.REQUEST_TOO_LARGE).format(limit=max(1, max_body // MB))
        response = app.make_response(error_response(413, message))
        body = response.get_data()
        out = [(k, v) for k, v in response.headers.items() if k.lower() not in ("content-length", "set-cookie")]
    return response.status, out, body


def localise_refusals(server: Any, app: Any, max_body: int) -> None:
    """Make `server` (a waitress server) answer its 413 through `app`, when it is our Flask app."""
    if not isinstance(app, Flask) or not hasattr(server, "channel_class"):
        return

    class TooLargeTask(ErrorTask):  # type: ignore[misc]
        def execute(self) -> None:
            error = self.request.error
            if getattr(error, "code", None) != 413:
                super().execute()
                return
            try:
                status, headers, body = render_too_large(app, self.request, max_body)
            except Exception:  # noqa: BLE001 - waitress' own page is better than none
                log.exception("could not render the 413 page; waitress answers itself")
                super().execute()
                return
            self.status = status
            self.response_headers.extend(headers)
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    class Channel(server.channel_class):  # type: ignore[misc,name-defined]
        error_task_class = TooLargeTask

    server.channel_class = Channel
