"""Extract, update and compile StudyBuddy's Hebrew and English catalogs.

    python -m tests.i18n.catalogs update    # extract (studybuddy/babel.cfg), merge into he/en .po
    python -m tests.i18n.catalogs compile   # write the .mo files the app loads
    python -m tests.i18n.catalogs check     # list untranslated or missing strings; exit 1 if any

Besides gettext calls, the Python extractor collects the English messages that views pass
through gettext at run time: the first argument of the student-facing errors, job stages,
and the message tables. English is the source language, so the English catalog maps each
message to itself.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "studybuddy"
TRANSLATIONS = PACKAGE / "translations"
LANGUAGES = ("he", "en")
DOMAIN = "messages"

# gettext-style calls: name -> positions of (singular[, plural]) arguments.
GETTEXT_CALLS = {"_": (0,), "gettext": (0,), "lazy_gettext": (0,), "_l": (0,), "N_": (0,),
                 "ngettext": (0, 1), "lazy_ngettext": (0, 1)}
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None, "lazy_ngettext": (1, 2)}
# Calls whose argument is an English message shown to a student through gettext later.
MESSAGE_CALLS = {
    "AccountError": 0, "CourseError": 0, "PermanentError": 0, "ToolInputError": 0, "ExtractionError": 0,
    "UploadError": 0, "progress": 1, "report": 1, "error_response": 1, "json_error": 1, "_problem": 1, "flash_error": 0,
    "ReviewError": 0,
}
# Module-level tables of messages: every string value in them is shown through gettext.
MESSAGE_TABLES = {"MESSAGES", "STATUS_TEXT", "STATE_TEXT", "USER_MESSAGES", "STAGES"}
# Modules where every module-level string constant is a message.
MESSAGE_MODULES = ("messages.py",)


def _call_name(node: ast.Call) -> str:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return ""


def _text(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip():
        return node.value
    return None


def extract_python(fileobj: IO[bytes], keywords: Any, comment_tags: Any,
                   options: dict[str, Any]) -> Iterator[tuple[int, str | None, Any, list[str]]]:
    """A Babel extractor for our Python sources (see the module docstring)."""
    source = fileobj.read().decode("utf-8")
    tree = ast.parse(source)
    filename = getattr(fileobj, "name", "")
    whole_module = Path(filename).name in MESSAGE_MODULES
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if name in GETTEXT_CALLS:
                texts = [_text(node.args[i]) if i < len(node.args) else None for i in GETTEXT_CALLS[name]]
                if texts and texts[0]:
                    yield node.lineno, name, texts[0] if len(texts) == 1 else tuple(texts), []
            elif name in MESSAGE_CALLS:
                index = MESSAGE_CALLS[name]
                arg = node.args[index] if index < len(node.args) else None
                text = _text(arg)
                if text:
                    yield node.lineno, None, text, []
    for stmt in tree.body:
        targets: list[str] = []
        value: ast.AST | None = None
        if isinstance(stmt, ast.Assign):
            targets = [t.id for t in stmt.targets if isinstance(t, ast.Name)]
            value = stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            targets, value = [stmt.target.id], stmt.value
        if not targets or value is None:
            continue
        if whole_module and _text(value):
            yield stmt.lineno, None, _text(value), []
        elif set(targets) & MESSAGE_TABLES and isinstance(value, ast.Dict):
            for item in value.values:
                if _text(item):
                    yield item.lineno, None, _text(item), []


def _in_sources(dirpath: str) -> bool:
    rel = Path(dirpath).resolve().relative_to(ROOT) if Path(dirpath).resolve() != ROOT else Path(".")
    return rel == Path(".") or rel.parts[0] in ("studybuddy", "templates")


def extract() -> Catalog:
    """The template catalog: every message in the sources named by studybuddy/babel.cfg."""
    with open(PACKAGE / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    methods = {"python": f"{__name__}:extract_python", "jinja2": "jinja2.ext:babel_extract"}
    method_map = [(pattern, methods.get(method, method)) for pattern, method in method_map]
    options_map = {pattern: {"extensions": "jinja2.ext.do", **opts} if pattern.endswith(".html") else opts
                   for pattern, opts in options_map.items()}
    template = Catalog(project="StudyBuddy", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS,
            directory_filter=_in_sources):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def po_path(lang: str) -> Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def load(lang: str) -> Catalog:
    path = po_path(lang)
    if not path.exists():
        return Catalog(locale=lang, project="StudyBuddy", fuzzy=False)
    with open(path, "rb") as fh:
        return read_po(fh, locale=lang)


HEADER = {
    "he": "# Hebrew messages of StudyBuddy (the default language).\n",
    "en": "# English messages of StudyBuddy (the source language: each message is its own translation).\n",
}


def save(catalog: Catalog, lang: str) -> None:
    path = po_path(lang)
    catalog.header_comment = HEADER[lang] + "# Update with: python -m tests.i18n.catalogs update"
    catalog.project, catalog.version = "StudyBuddy", "1"
    catalog.last_translator = catalog.language_team = "StudyBuddy"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        write_po(fh, catalog, width=110, sort_output=True, omit_header=False, include_previous=False,
                 ignore_obsolete=True)


def update() -> dict[str, int]:
    """Merge the sources' messages into both catalogs; English gets each message as its translation."""
    template = extract()
    counts = {}
    for lang in LANGUAGES:
        catalog = load(lang)
        created = catalog.creation_date  # keep the header stable when nothing else changes
        catalog.update(template, no_fuzzy_matching=True)
        catalog.creation_date = created
        catalog.obsolete.clear()
        if lang == "en":
            for message in catalog:
                if message.id:
                    message.string = message.id if isinstance(message.id, str) else tuple(message.id)
        save(catalog, lang)
        counts[lang] = len([m for m in catalog if m.id])
    return counts


def compile_all() -> None:
    for lang in LANGUAGES:
        catalog = load(lang)
        with open(po_path(lang).with_suffix(".mo"), "wb") as fh:
            write_mo(fh, catalog, use_fuzzy=False)


def problems() -> list[str]:
    """Every message missing from a catalog, left untranslated, fuzzy, or with broken placeholders."""
    template = extract()
    out: list[str] = []
    for lang in LANGUAGES:
        catalog = load(lang)
        for message in template:
            if not message.id:
                continue
            found = catalog.get(message.id, context=message.context)
            if found is None:
                out.append(f"{lang}: missing {message.id!r}")
                continue
            strings = found.string if isinstance(found.string, (list, tuple)) else [found.string]
            if not all(s and s.strip() for s in strings):
                out.append(f"{lang}: untranslated {message.id!r}")
            elif found.fuzzy:
                out.append(f"{lang}: fuzzy {message.id!r}")
        for message, errors in catalog.check():
            out.extend(f"{lang}: {message.id!r}: {err}" for err in errors)
    return out


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        for lang, count in update().items():
            sys.stdout.write(f"{lang}: {count} messages\n")
        return 0
    if command == "compile":
        compile_all()
        return 0
    if command == "check":
        found = problems()
        sys.stdout.write("\n".join(found) + ("\n" if found else "catalogs complete\n"))
        return 1 if found else 0
    sys.stderr.write(__doc__ or "")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
