"""What an upload is, decided by its content (magic bytes), and whether it is safe to open."""

from __future__ import annotations

import io
import unicodedata
import zipfile
from dataclasses import dataclass

import filetype

from . import messages
from .textdecode import decode_text


class Rejected(Exception):
    """Bad input: `message` is shown to the student; nothing is stored.

    `template` and `params` let the web layer translate the message before filling it in.
    """

    def __init__(self, template: str, status: int = 400, **params: object):
        self.template = template
        self.params = params
        self.message = template.format(**params) if params else template
        super().__init__(self.message)
        self.status = status


@dataclass(frozen=True)
class FileKind:
    kind: str  # pdf, docx, pptx, html, txt, md, png, jpeg, webp
    mime: str


KINDS: dict[str, str] = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "html": "text/html",
    "txt": "text/plain",
    "md": "text/markdown",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
}
IMAGE_KINDS = frozenset({"png", "jpeg", "webp"})
TEXT_KINDS = frozenset({"html", "txt", "md"})
KNOWN_EXTENSIONS = frozenset(
    {"pdf", "docx", "pptx", "html", "htm", "txt", "md", "markdown", "png", "jpg", "jpeg", "webp"}
)
MAX_NAME_CHARS = 200

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def clean_display_name(name: str | None) -> str:
    """The name the student sees (Hebrew kept), or Rejected for names that try to be paths."""
    name = unicodedata.normalize("NFC", (name or "").strip())
    if not name:
        raise Rejected(messages.NO_FILE_NAME)
    if any(ch in "/\\" or unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS for ch in name):
        raise Rejected(messages.BAD_FILE_NAME)
    if name in (".", ".."):
        raise Rejected(messages.BAD_FILE_NAME)
    if len(name) > MAX_NAME_CHARS:
        raise Rejected(messages.NAME_TOO_LONG, limit=MAX_NAME_CHARS)
    return name


def _extension(name: str) -> str:
    _, dot, ext = name.rpartition(".")
    return ext.lower() if dot else ""


def _office_kind(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "word/document.xml" in names:
        return "docx"
    if "ppt/presentation.xml" in names:
        return "pptx"
    return None


def _looks_like_html(text: str) -> bool:
    head = text[:2048].lstrip("\ufeff \t\r\n").lower()
    return head.startswith(("<!doctype html", "<html", "<head", "<body")) or (
        head.startswith("<") and ("<html" in head or "<body" in head or "<head" in head)
    )


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False  # UTF-16 with a byte order mark
    return b"\x00" in sample


def detect_kind(data: bytes, name: str) -> FileKind:
    """Decide the type from the content; the extension only tells Markdown from plain text."""
    if not data:
        raise Rejected(messages.EMPTY_FILE)
    ext = _extension(name)
    kind: str | None = None
    if data[:1024].lstrip().startswith(b"%PDF-") or b"%PDF-" in data[:1024]:
        kind = "pdf"
    elif data.startswith(b"PK\x03\x04"):
        kind = _office_kind(data)
    else:
        guess = filetype.guess(data[:8192])
        if guess is not None:
            kind = {"png": "png", "jpg": "jpeg", "webp": "webp"}.get(guess.extension)
        elif not _looks_binary(data):
            try:
                text = decode_text(data[:65536], partial=True)
            except ValueError:
                text = None
            if text is not None:
                if _looks_like_html(text):
                    kind = "html"
                else:
                    kind = "md" if ext in ("md", "markdown") else "txt"
    if kind is None:
        if ext in KNOWN_EXTENSIONS:
            raise Rejected(messages.EXTENSION_MISMATCH, status=415, name=name)
        raise Rejected(messages.UNSUPPORTED_TYPE, status=415)
    return FileKind(kind=kind, mime=KINDS[kind])
