"""The glossary: only what the material defines ("X (Y) הוא …", "X – …", "X: …", "X is …", a
heading naming a term in both languages), never a list of frequent words."""

from __future__ import annotations

from typing import Any

from ..base import ToolRequest
from .cards import distinct_definitions
from .material import Material, count_param, term_label


def glossary(request: ToolRequest) -> dict[str, Any]:
    material = Material(request.sources)
    count = count_param(request.params, "count", 30, 1, 100)
    found = sorted(distinct_definitions(material, count), key=lambda d: d[1].order)
    return {"terms": [{"term": term_label(d), "definition": d.definition, "source": s.source} for d, s in found]}
