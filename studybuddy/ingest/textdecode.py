"""Decoding text files: UTF-8, UTF-16 (with a byte order mark), Windows-1255 Hebrew, then a guess."""

from __future__ import annotations

import codecs
import re

_HEBREW = re.compile("[\u05d0-\u05ea]")
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f]")


def _plausible(text: str) -> bool:
    return len(_CONTROL.findall(text)) <= max(2, len(text) // 200)


def decode_text(data: bytes, partial: bool = False) -> str:
    """Decode `data`; `partial` allows a character cut at the end. Raises ValueError."""
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                       (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            body = data[len(bom):]
            if partial and codec.startswith("utf-16") and len(body) % 2:
                body = body[:-1]
            try:
                text = body.decode(codec)
            except UnicodeDecodeError as exc:
                if not (partial and exc.start >= len(body) - 4):
                    raise ValueError(f"not valid {codec}") from None
                text = body[:exc.start].decode(codec)
            return text
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if partial and exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            text = data[:exc.start].decode("utf-8")
        else:
            text = ""
            # Hebrew text files from Windows are usually Windows-1255.
            high = [b for b in data if b >= 0x80]
            if high and sum(1 for b in high if 0xE0 <= b <= 0xFA) / len(high) >= 0.6:
                candidate = data.decode("cp1255", errors="replace")
                if len(_HEBREW.findall(candidate)) >= len(high) * 0.6:
                    text = candidate
            if not text:
                from charset_normalizer import from_bytes

                best = from_bytes(data).best()
                if best is None:
                    raise ValueError("unknown text encoding") from None
                text = str(best)
    if not _plausible(text):
        raise ValueError("not text")
    return text
