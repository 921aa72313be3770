"""The PWA's server side: manifest, service worker script, offline page, caching and CSP headers."""

from __future__ import annotations

import importlib.util
import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops

ROOT = Path(__file__).resolve().parents[2]


def test_manifest(client: Any) -> None:
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200 and response.mimetype == "application/manifest+json"
    manifest = json.loads(response.get_data(as_text=True))
    assert (manifest["lang"], manifest["dir"], manifest["display"]) == ("he", "rtl", "standalone")
    assert manifest["start_url"] == manifest["scope"] == "/"
    for icon in manifest["icons"]:
        got = client.get(icon["src"])
        assert got.status_code == 200
        image = Image.open(io.BytesIO(got.data))
        assert image.format == "PNG" and f"{image.width}x{image.height}" == icon["sizes"]
    assert {i["purpose"] for i in manifest["icons"]} == {"any", "maskable"}


def test_service_worker_script(client: Any, app: Any) -> None:
    response = client.get("/sw.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert "no-cache" in response.headers["Cache-Control"]
    source = response.get_data(as_text=True)
    version = re.search(r'var VERSION = "([0-9a-f]{16})";', source)
    assert version, "the cache version was not filled in"
    shell = json.loads(re.search(r"var SHELL_URLS = (\[.*?\]);", source).group(1))  # type: ignore[union-attr]
    for url in shell:
        assert client.get(url).status_code == 200, url
    assert "/offline?lang=he" in shell and "/offline?lang=en" in shell


def test_service_worker_version_follows_the_static_files(app: Any, tmp_path: Path) -> None:
    """A changed static file gives a new version (and so an "update now" in open pages)."""
    static = tmp_path / "static"
    shutil.copytree(app.static_folder, static)
    app.static_folder = str(static)
    client = app.test_client()

    def version() -> str:
        app.extensions.pop("studybuddy.shell_version", None)
        found = re.search(r'var VERSION = "([0-9a-f]{16})";', client.get("/sw.js").get_data(as_text=True))
        assert found, "the cache version was not filled in"
        return found.group(1)

    first = version()
    assert version() == first  # the same files, the same version
    css = next(static.rglob("*.css"))
    css.write_text(css.read_text(encoding="utf-8") + "\n/* changed */\n", encoding="utf-8")
    changed = version()
    assert changed != first
    (static / "new-file.txt").write_text("x", encoding="utf-8")
    assert version() not in (first, changed)


def test_offline_page_is_public_and_holds_nothing_private(login_as: Any) -> None:
    client = login_as("alice")
    for lang, text in (("he", "אין חיבור לרשת"), ("en", "You are offline")):
        page = client.get(f"/offline?lang={lang}").get_data(as_text=True)
        assert f'<html lang="{lang}"' in page and text in page
        assert "alice" not in page.lower() and "csrf-token" not in page and "data-logout" not in page


def test_pages_of_a_logged_in_student_are_never_cached(client: Any, login_as: Any) -> None:
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")
    login_as("alice")
    for url in ("/library", "/review", "/review/deck.json", "/settings", "/api/v1/courses"):
        assert client.get(url).headers["Cache-Control"] == "no-store", url
    assert "no-store" not in client.get("/static/css/app.css").headers.get("Cache-Control", "")


def test_security_headers(client: Any) -> None:
    headers = client.get("/").headers
    csp = headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert not re.search(r"https?://|\*", csp), csp
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"]
    assert "Strict-Transport-Security" not in headers
    https = client.get("/", base_url="https://localhost")
    assert https.headers["Strict-Transport-Security"].startswith("max-age=")


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"<style", re.I), "<style> element"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "inline event handler"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
    (re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I), "third-party origin"),
]


def test_no_template_uses_inline_script_style_or_third_party_origins() -> None:
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for pattern, what in INLINE:
            if pattern.search(text):
                found.append(f"{path.relative_to(ROOT)}: {what}")
    assert not found, found


def test_icons_are_painted_from_the_svg(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_icons", ROOT / "static" / "icons" / "make_icons.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    module.main(tmp_path)
    for name in module.ICONS:
        fresh = Image.open(tmp_path / name).convert("RGBA")
        shipped = Image.open(ROOT / "static" / "icons" / name).convert("RGBA")
        assert fresh.size == shipped.size
        assert ImageChops.difference(fresh, shipped).getbbox() is None, f"{name}: run static/icons/make_icons.py"
