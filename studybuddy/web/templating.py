"""Templates compiled once per language, with their fixed texts already translated.

A page calls `_("...")` a few hundred times. Looked up at render time, each call goes through
the template runtime and the request's catalog; here a template is compiled once for each
language it is shown in, and every `_()`/`gettext()` of a constant string becomes the
translated constant (still escaped and %-formatted with its arguments at render time, exactly
as the newstyle gettext does). Calls with computed strings stay calls.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from flask import has_request_context
from flask.templating import Environment
from flask_babel import get_locale, get_translations
from jinja2 import nodes
from jinja2.environment import Template
from jinja2.visitor import NodeTransformer

_GETTEXT_NAMES = ("_", "gettext")


def _language() -> str:
    return str(get_locale() or "") if has_request_context() else ""


class _Translator(NodeTransformer):
    """Rewrites constant gettext calls in a parsed template."""

    def __init__(self, catalog: Any):
        self.catalog = catalog

    def visit_Call(self, call: nodes.Call) -> nodes.Node:
        visited = self.generic_visit(call)
        return (self._constant(visited) if isinstance(visited, nodes.Call) else None) or visited

    def _constant(self, call: nodes.Call) -> nodes.Expr | None:
        if not (isinstance(call.node, nodes.Name) and call.node.name in _GETTEXT_NAMES):
            return None
        if len(call.args) != 1 or call.dyn_args is not None or call.dyn_kwargs is not None:
            return None
        arg = call.args[0]
        if not (isinstance(arg, nodes.Const) and isinstance(arg.value, str)):
            return None
        translated = self.catalog.ugettext(arg.value)
        if call.kwargs:
            pairs = [nodes.Pair(nodes.Const(k.key), k.value, lineno=call.lineno) for k in call.kwargs]
            return nodes.Mod(nodes.MarkSafeIfAutoescape(nodes.Const(translated), lineno=call.lineno),
                             nodes.Dict(pairs, lineno=call.lineno), lineno=call.lineno)
        try:
            text = translated % {}
        except (KeyError, TypeError, ValueError):
            return None  # a placeholder without a value: leave the error to render time, as before
        return nodes.MarkSafeIfAutoescape(nodes.Const(text), lineno=call.lineno)


class LocalizedEnvironment(Environment):
    """Flask's template environment, caching one compiled template per (name, language)."""

    _compiling = threading.local()

    def _load_template(self, name: str, globals: Any) -> Template:
        language = _language()
        if not language or self.loader is None:
            return super()._load_template(name, globals)  # type: ignore[no-any-return]
        key = (weakref.ref(self.loader), name, language)
        if self.cache is not None:
            template = self.cache.get(key)  # type: ignore[arg-type]
            if template is not None and (not self.auto_reload or template.is_up_to_date):
                if globals:
                    template.globals.update(globals)
                return template  # type: ignore[no-any-return]
        self._compiling.translator = _Translator(get_translations())
        try:
            template = self.loader.load(self, name, self.make_globals(globals))
        finally:
            self._compiling.translator = None
        if self.cache is not None:
            self.cache[key] = template  # type: ignore[index]
        return template  # type: ignore[no-any-return]

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        translator = getattr(self._compiling, "translator", None)
        if translator is not None:
            tree = translator.visit(tree)
        return tree
