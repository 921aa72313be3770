"""A student's own data: everything as one archive, or erased for good."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import tempfile
import zipfile
from typing import IO, Any

from .store import Store
from .store.models import User

log = logging.getLogger(__name__)

README = """StudyBuddy: everything stored for {email}, exported {when}.

account.json      the account (no password)
data/<kind>.json  every record of the account, one file per kind: courses, documents (with
                  their extracted pages and chunks), study results (artifacts), cards, review
                  log, quiz attempts and chat messages (items), jobs
files/            the uploaded documents as they were uploaded
"""


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[\\/\x00-\x1f]+", "_", name).strip(". ") or "document"
    return cleaned[:120]


def export_archive(store: Store, user: User) -> IO[bytes]:
    """A zip of everything the user owns, in a temporary file positioned at its start."""
    rows = store.accounts.export_rows(user.id)
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 - returned
    when = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README.format(email=user.email, when=when))
        account = rows.pop("account", [{}])
        archive.writestr("account.json", _json(account[0] if account else {}))
        for table, records in sorted(rows.items()):
            archive.writestr(f"data/{table}.json", _json(records))
        for document in rows.get("documents", []):
            blob_id = document.get("blob_id") or ""
            if not blob_id:
                continue
            try:
                content = store.blobs.get(blob_id)
            except KeyError:
                log.warning("export of %s: the file of document %s is missing", user.id, document.get("id"))
                continue
            archive.writestr(f"files/{document['id']}-{_safe_name(str(document.get('display_name', '')))}",
                             content)
    out.seek(0)
    return out


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def erase_account(store: Store, user: User) -> None:
    """The account and every trace of it, in this store and its blobs."""
    store.accounts.erase_user(user.id)
    log.info("account %s erased", user.id)
