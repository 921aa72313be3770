"""Paint the PWA icons from static/img/avner.svg with Pillow.

The artwork uses only rect, circle, ellipse and polygon elements with flat fills, so this
small painter is enough; it supersamples 4x and scales down. Run it after changing the SVG:

    python static/icons/make_icons.py
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
SVG = HERE.parent / "img" / "avner.svg"
BACKGROUND = "#faf7f2"
RING = "#8a5a2b"
SUPERSAMPLE = 4
NS = "{http://www.w3.org/2000/svg}"


def _rgba(color: str, opacity: float) -> tuple[int, int, int, int]:
    color = color.lstrip("#")
    r, g, b = (int(color[i:i + 2], 16) for i in (0, 2, 4))
    return r, g, b, round(255 * opacity)


def paint_artwork(svg: Path, size: int) -> Image.Image:
    """The artwork alone on a transparent square of `size` pixels."""
    root = ET.parse(svg).getroot()
    _, _, vw, vh = (float(v) for v in root.attrib["viewBox"].split())
    big = size * SUPERSAMPLE
    sx, sy = big / vw, big / vh
    canvas = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    for el in root:
        tag = el.tag.removeprefix(NS)
        if tag not in ("rect", "circle", "ellipse", "polygon"):
            continue
        a = el.attrib
        fill = _rgba(a.get("fill", "#000000"), float(a.get("fill-opacity", "1")))
        layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        if tag == "rect":
            x, y, w, h = (float(a[k]) for k in ("x", "y", "width", "height"))
            box = (x * sx, y * sy, (x + w) * sx, (y + h) * sy)
            draw.rounded_rectangle(box, radius=float(a.get("rx", "0")) * sx, fill=fill)
        elif tag in ("circle", "ellipse"):
            cx, cy = float(a["cx"]), float(a["cy"])
            rx = float(a.get("r", a.get("rx", "0")))
            ry = float(a.get("r", a.get("ry", "0")))
            draw.ellipse(((cx - rx) * sx, (cy - ry) * sy, (cx + rx) * sx, (cy + ry) * sy), fill=fill)
        else:
            pairs = [p.split(",") for p in a["points"].split()]
            draw.polygon([(float(px) * sx, float(py) * sy) for px, py in pairs], fill=fill)
        canvas = Image.alpha_composite(canvas, layer)
    return canvas.resize((size, size), Image.Resampling.LANCZOS)


def make_icon(size: int, maskable: bool) -> Image.Image:
    """A round badge ("any" purpose) or a full-bleed square whose art stays in the safe zone."""
    big = size * SUPERSAMPLE
    icon = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(icon)
    if maskable:
        draw.rectangle((0, 0, big, big), fill=_rgba(BACKGROUND, 1))
        art_fraction = 0.62  # inside the 80% safe circle
    else:
        ring = big // 24
        draw.ellipse((0, 0, big - 1, big - 1), fill=_rgba(RING, 1))
        draw.ellipse((ring, ring, big - 1 - ring, big - 1 - ring), fill=_rgba(BACKGROUND, 1))
        art_fraction = 0.78
    icon = icon.resize((size, size), Image.Resampling.LANCZOS)
    art_size = round(size * art_fraction)
    art = paint_artwork(SVG, art_size)
    offset = (size - art_size) // 2
    icon.alpha_composite(art, (offset, offset))
    return icon


ICONS = {"icon-192.png": (192, False), "icon-512.png": (512, False), "maskable-512.png": (512, True)}


def main(out_dir: Path = HERE) -> int:
    for name, (size, maskable) in ICONS.items():
        make_icon(size, maskable).save(out_dir / name, optimize=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE))
