"""A mind map drawn on the server as SVG: no script, no external code, right-to-left aware.

The centre topic stands at the reading start (the right for Hebrew, the left for English), its
branches in a column beside it and each branch's children beside the branch, joined by curves.
Text widths are estimated from character counts (no font metrics on the server), so boxes are
sized generously; labels longer than a box allows are shortened with an ellipsis (the full
outline is printed below the map as a list).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from ..ai.offline.text import is_hebrew

ROW = 44  # px per child row
BOX_H = 32
GAP = 56  # px between columns
CHAR_W = 8.2  # px per character at 14px (generous for Hebrew and Latin)
PAD = 14
MAX_CHARS = (28, 32, 40)  # per column: centre, branch, child
PALETTE = ("#1565c0", "#2e7d32", "#ad1457", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037", "#c62828")


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    text: str
    colour: str
    column: int


def _clip(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _width(text: str) -> float:
    return len(text) * CHAR_W + 2 * PAD


def layout(data: dict[str, Any]) -> tuple[list[Box], list[tuple[Box, Box]], float, float]:
    """Boxes and links of the map in left-to-right coordinates, with the drawing's size."""
    branches = [b for b in data.get("branches", []) if isinstance(b, dict)]
    rows = [max(1, len(b.get("children") or [])) for b in branches]
    height = max(sum(rows) * ROW, ROW) + 16
    labels = [_clip(b.get("label", ""), MAX_CHARS[1]) for b in branches]
    children = [[_clip(c, MAX_CHARS[2]) for c in (b.get("children") or [])] for b in branches]
    centre_text = _clip(data.get("title", ""), MAX_CHARS[0])
    widths = [_width(centre_text), max((_width(t) for t in labels), default=0),
              max((_width(t) for group in children for t in group), default=0)]
    xs = [8.0, 8.0 + widths[0] + GAP, 8.0 + widths[0] + GAP + widths[1] + GAP]
    width = xs[2] + widths[2] + 8 if any(children) else xs[1] + widths[1] + 8
    centre = Box(xs[0], height / 2 - BOX_H / 2, widths[0], centre_text, "#37474f", 0)
    boxes, links = [centre], []
    top = 8.0
    for i, (label, group) in enumerate(zip(labels, children)):
        colour = PALETTE[i % len(PALETTE)]
        span = rows[i] * ROW
        branch = Box(xs[1], top + span / 2 - BOX_H / 2, _width(label), label, colour, 1)
        boxes.append(branch)
        links.append((centre, branch))
        for j, child_text in enumerate(group):
            child = Box(xs[2], top + j * ROW + (ROW - BOX_H) / 2, _width(child_text), child_text, colour, 2)
            boxes.append(child)
            links.append((branch, child))
        top += span
    return boxes, links, width, height


def render_mind_map(data: dict[str, Any], rtl: bool, label: str = "") -> Markup:
    """The map as an inline SVG element (mirrored for a right-to-left page)."""
    boxes, links, width, height = layout(data)

    def x_of(box: Box) -> float:
        return width - box.x - box.w if rtl else box.x

    parts = [f'<svg class="mind-map" xmlns="http://www.w3.org/2000/svg" role="img" '
             f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
             f'aria-label="{escape(label or data.get("title", ""))}">']
    for parent, child in links:
        px = x_of(parent) + (0 if rtl else parent.w)
        cx = x_of(child) + (child.w if rtl else 0)
        py, cy = parent.y + BOX_H / 2, child.y + BOX_H / 2
        mid = (px + cx) / 2
        parts.append(f'<path d="M{px:.1f},{py:.1f} C{mid:.1f},{py:.1f} {mid:.1f},{cy:.1f} {cx:.1f},{cy:.1f}" '
                     f'fill="none" stroke="{child.colour}" stroke-width="2" opacity="0.7"/>')
    for box in boxes:
        x = x_of(box)
        filled = box.column < 2
        parts.append(f'<g class="node node-{box.column}"><rect x="{x:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" '
                     f'height="{BOX_H}" rx="10" fill="{box.colour if filled else "#ffffff"}" '
                     f'stroke="{box.colour}" stroke-width="2"/>')
        direction = "rtl" if is_hebrew(box.text) else "ltr"
        parts.append(f'<text x="{x + box.w / 2:.1f}" y="{box.y + BOX_H / 2 + 5:.1f}" text-anchor="middle" '
                     f'direction="{direction}" unicode-bidi="embed" font-size="14" '
                     f'font-weight="{700 if box.column == 0 else 400}" '
                     f'fill="{"#ffffff" if filled else "#212121"}">{escape(box.text)}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))
