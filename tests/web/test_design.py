"""The stylesheet: right-to-left safe (logical properties only) and readable (WCAG AA contrast)."""

from __future__ import annotations

import re
from pathlib import Path

CSS = (Path(__file__).resolve().parents[2] / "static" / "css" / "app.css").read_text(encoding="utf-8")


def variables() -> dict[str, str]:
    root = re.search(r":root\s*{(.*?)}", CSS, re.S).group(1)  # type: ignore[union-attr]
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", root))


def luminance(color: str) -> float:
    channels = []
    for i in (1, 3, 5):
        c = int(color[i:i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = channels
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_text_colours_meet_wcag_aa() -> None:
    v = variables()
    pairs = [
        ("fg", "bg"), ("fg", "card"), ("muted", "bg"), ("muted", "card"), ("link", "bg"), ("link", "card"),
        ("accent-fg", "accent"), ("accent-fg", "accent-strong"), ("accent-strong", "card"),
        ("accent-strong", "accent-soft"), ("danger", "danger-soft"), ("danger", "card"), ("accent-fg", "danger"),
        ("fg", "info-soft"), ("fg", "soft"), ("ok", "card"), ("link", "accent-soft"), ("muted", "soft"),
    ]
    low = [(a, b, round(contrast(v[a], v[b]), 2)) for a, b in pairs if contrast(v[a], v[b]) < 4.5]
    assert not low, low


def test_only_logical_properties() -> None:
    physical = re.findall(
        r"(?<![\w-])((?:margin|padding|border)-(?:left|right)|(?:left|right)\s*:|text-align:\s*(?:left|right)"
        r"|float:\s*(?:left|right))", CSS)
    assert not physical, physical
