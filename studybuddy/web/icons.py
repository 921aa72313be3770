"""Inline SVG icons (emoji need an emoji font, which many systems lack; these need nothing).

`icon("summary")` in a template gives a decorative `<svg>` (aria-hidden, the text beside it
says what it is) that takes the text colour. Icons that point a way (back, next) carry the
class `icon-directional` and are mirrored in right-to-left pages by the stylesheet.
"""

from __future__ import annotations

from functools import lru_cache

from flask import Flask
from markupsafe import Markup

# 24x24 outline drawings (stroke = currentColor).
_PATHS = {
    "summary": '<path d="M6 3h9l4 4v14H6z"/><path d="M15 3v4h4M9 11h7M9 14h7M9 17h5"/>',
    "flashcards": '<rect x="3" y="7" width="14" height="11" rx="2"/><path d="M7 4h12a2 2 0 0 1 2 2v9"/>',
    "quiz": '<circle cx="12" cy="12" r="9"/><path d="M9.5 9.5a2.5 2.5 0 1 1 3.5 2.3c-.7.3-1 .8-1 1.5V14"/>'
            '<path d="M12 17h.01"/>',
    "homework": '<path d="M4 20l4-1 11-11-3-3L5 16z"/><path d="M14 6l3 3"/>',
    "chat": '<path d="M4 5h16v11H9l-5 4z"/><path d="M8 9h8M8 12h5"/>',
    "glossary": '<path d="M5 4h11a2 2 0 0 1 2 2v14H7a2 2 0 0 1-2-2z"/><path d="M5 18a2 2 0 0 1 2-2h11M9 8h5"/>',
    "study_guide": '<path d="M3 5h7a2 2 0 0 1 2 2v13a2 2 0 0 0-2-2H3zM21 5h-7a2 2 0 0 0-2 2v13a2 2 0 0 1 2-2h7z"/>',
    "faq": '<path d="M4 5h16v11H9l-5 4z"/><path d="M10 9a2 2 0 1 1 2.5 1.9c-.3.1-.5.4-.5.8M12 14h.01"/>',
    "mind_map": '<circle cx="12" cy="12" r="3"/><circle cx="4.5" cy="5.5" r="2"/><circle cx="19.5" cy="5.5" r="2"/>'
                '<circle cx="4.5" cy="18.5" r="2"/><circle cx="19.5" cy="18.5" r="2"/>'
                '<path d="M6 7l4 3M18 7l-4 3M6 17l4-3M18 17l-4-3"/>',
    "upload": '<path d="M12 16V4M7 9l5-5 5 5"/><path d="M4 15v4a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1v-4"/>',
    "menu": '<path d="M4 7h16M4 12h16M4 17h16"/>',
    "close": '<path d="M6 6l12 12M18 6L6 18"/>',
    "back": '<path d="M15 5l-7 7 7 7"/>',
    "next": '<path d="M9 5l7 7-7 7"/>',
    "check": '<path d="M5 12.5l4.5 4.5L19 7"/>',
    "cross": '<path d="M6 6l12 12M18 6L6 18"/>',
    "pin": '<path d="M9 4h6l-1 6 4 4H6l4-4z"/><path d="M12 14v6"/>',
    "trash": '<path d="M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3"/>',
    "edit": '<path d="M4 20h4L19 9l-4-4L4 16z"/><path d="M13.5 6.5l4 4"/>',
    "language": '<circle cx="12" cy="12" r="9"/><path d="M3 12h18M12 3c3 3.5 3 14.5 0 18M12 3c-3 3.5-3 14.5 0 18"/>',
    "install": '<path d="M12 4v11M7 10l5 5 5-5"/><path d="M5 20h14"/>',
    "courses": '<path d="M4 5h6v14H4zM10 5h5v14h-5z"/><path d="M15 6l4-1 2 13-4 1z"/>',
    "review": '<rect x="4" y="6" width="16" height="12" rx="2"/><path d="M8 12l2.5 2.5L16 9"/>',
    "settings": '<circle cx="12" cy="12" r="3"/><path d="M12 2v3M12 19v3M2 12h3M19 12h3M4.9 4.9l2.1 2.1M17 17l2.1 2.1'
                'M4.9 19.1L7 17M17 7l2.1-2.1"/>',
    "logout": '<path d="M10 5H5v14h5M14 8l4 4-4 4M18 12H9"/>',
    "retry": '<path d="M20 12a8 8 0 1 1-2.3-5.7M20 4v5h-5"/>',
    "clock": '<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/>',
    "avner": '<path d="M5 15c0-4 3-7 7-7s7 3 7 7v2H5z"/><circle cx="9.5" cy="12" r=".8"/>'
             '<circle cx="14.5" cy="12" r=".8"/><path d="M8 8l-1-2M16 8l1-2"/>',
}
DIRECTIONAL = {"back", "next"}


@lru_cache(maxsize=256)
def icon(name: str, label: str = "") -> Markup:
    """An inline SVG icon; with `label` it is announced (role=img), otherwise hidden from readers."""
    paths = _PATHS[name]
    classes = "icon icon-directional" if name in DIRECTIONAL else "icon"
    if label:
        aria = f' role="img" aria-label="{Markup.escape(label)}"'
    else:
        aria = ' aria-hidden="true" focusable="false"'
    return Markup(f'<svg class="{classes}" data-icon="{name}" viewBox="0 0 24 24" width="20" height="20" fill="none" '
                  f'stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"{aria}>'
                  f'{paths}</svg>')


def init_app(app: Flask) -> None:
    app.jinja_env.globals["icon"] = icon
