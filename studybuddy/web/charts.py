"""Small charts drawn on the server as SVG (no script, no CDN; colours come from classes in the
stylesheet because the CSP forbids inline styles). In right-to-left pages time runs from right to
left and the value axis sits on the right, as a Hebrew reader expects."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 220
PAD_TOP, PAD_BOTTOM, PAD_SIDE, PAD_AXIS = 16, 34, 12, 44


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step:
            return float(step)
    return float(value)


def bar_chart(values: Sequence[float | None], labels: Sequence[str], *, title: str, rtl: bool,
              value_text: Callable[[float], str] = lambda v: f"{v:g}", y_max: float | None = None,
              target: float | None = None, target_label: str = "", css: str = "", label_every: int = 5) -> Markup:
    """A bar per value (None draws no bar), labels under every `label_every`-th bar."""
    top = y_max if y_max is not None else _nice_max(max([v for v in values if v is not None] + [0]))
    plot_w = WIDTH - 2 * PAD_SIDE - PAD_AXIS
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    step = plot_w / max(len(values), 1)
    x0 = PAD_SIDE if rtl else PAD_SIDE + PAD_AXIS  # where the bars start
    anchor_axis = "start" if rtl else "end"  # the value axis sits on the reading side
    axis_x = WIDTH - PAD_SIDE - PAD_AXIS + 6 if rtl else PAD_SIDE + PAD_AXIS - 6
    # Numbers and dates read left to right whatever the page: anchors below mean what they say.
    parts = [f'<svg class="chart {escape(css)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" direction="ltr" '
             f'aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet"><title>{escape(title)}</title>']

    def y(value: float) -> float:
        return PAD_TOP + plot_h - plot_h * min(value, top) / top

    for fraction in (0.0, 0.5, 1.0):
        gy = y(top * fraction)
        parts.append(f'<line class="chart-grid" x1="{x0:.1f}" x2="{x0 + plot_w:.1f}" y1="{gy:.1f}" y2="{gy:.1f}"/>')
        parts.append(f'<text class="chart-axis" x="{axis_x:.1f}" y="{gy + 4:.1f}" text-anchor="{anchor_axis}">'
                     f'{escape(value_text(top * fraction))}</text>')
    for index, (value, label) in enumerate(zip(values, labels)):
        slot = len(values) - 1 - index if rtl else index
        bx = x0 + slot * step + step * 0.15
        if value is not None and value > 0:
            by = y(value)
            parts.append(f'<rect class="chart-bar" x="{bx:.1f}" y="{by:.1f}" width="{step * 0.7:.1f}" '
                         f'height="{PAD_TOP + plot_h - by:.1f}" rx="2"><title>{escape(label)}: '
                         f'{escape(value_text(value))}</title></rect>')
        if index % label_every == 0 or index == len(values) - 1:
            parts.append(f'<text class="chart-label" x="{bx + step * 0.35:.1f}" y="{HEIGHT - 12}" '
                         f'text-anchor="middle">{escape(label)}</text>')
    if target is not None:
        ty = y(target)
        parts.append(f'<line class="chart-target" x1="{x0:.1f}" x2="{x0 + plot_w:.1f}" y1="{ty:.1f}" y2="{ty:.1f}"/>')
        # The label sits in the top margin at the far end from the value axis; a Hebrew one is set
        # right to left, so its "end" is its left edge.
        tx = x0 + 4 if rtl else x0 + plot_w - 4
        parts.append(f'<text class="chart-target-label" x="{tx:.1f}" y="{PAD_TOP - 4}" '
                     f'direction="{"rtl" if rtl else "ltr"}" text-anchor="end">{escape(target_label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def share_bar(parts: Sequence[tuple[str, int, str]], *, title: str, rtl: bool) -> Markup:
    """One horizontal bar split into (label, count, class) shares, starting at the reading side."""
    total = sum(count for _, count, _ in parts) or 1
    width, height = WIDTH - 2 * PAD_SIDE, 36
    out = [f'<svg class="chart chart-shares" viewBox="0 0 {WIDTH} {height + 8}" role="img" '
           f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    offset = 0.0
    for label, count, css in parts:
        if not count:
            continue
        w = width * count / total
        x = WIDTH - PAD_SIDE - offset - w if rtl else PAD_SIDE + offset
        out.append(f'<rect class="share {escape(css)}" x="{x:.1f}" y="4" width="{w:.1f}" height="{height}">'
                   f'<title>{escape(label)}: {count}</title></rect>')
        offset += w
    out.append("</svg>")
    return Markup("".join(out))
