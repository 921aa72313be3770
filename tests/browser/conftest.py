"""Browser tests: Debian's chromium driven by Playwright against the app served on loopback.

The app runs in this process (waitress in a thread, the worker on the in-process broker), the
same way `studybuddy run` serves it. Every page a test opens is watched for Content Security
Policy violations; any violation fails the test.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from studybuddy.config import Config
from studybuddy.services import Services
from tests.conftest import make_config, skip_or_fail_in_ci

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("STUDYBUDDY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}

# Reports violations to the console, where the context's listener collects them.
CSP_WATCH = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP-VIOLATION " + e.violatedDirective + " blocked=" + e.blockedURI + " at " + e.sourceFile);
});
"""

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Every test under tests/browser is a browser test (a conftest's pytestmark marks nothing)."""
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


@dataclass
class LiveApp:
    url: str
    config: Config
    services: Services
    app: Any


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    yield from serve_live(tmp_path_factory.mktemp("live"))


def serve_live(state: Path, handlers: Any = None, concurrency: int | None = None) -> Iterator[LiveApp]:
    """The app on loopback with its worker (optionally with other job handlers), until closed."""
    from waitress.server import create_server

    from studybuddy.web import create_app
    from studybuddy.worker.consumer import Worker

    cfg = make_config(state)
    services = Services(cfg)
    worker = Worker(services, handlers=handlers, concurrency=concurrency)
    worker.start()
    app = create_app(cfg, services)
    server = create_server(app, host="127.0.0.1", port=0, threads=8, ident="StudyBuddy")
    thread = threading.Thread(target=server.run, name="live-web", daemon=True)
    thread.start()
    try:
        yield LiveApp(f"http://127.0.0.1:{server.effective_port}", cfg, services, app)  # type: ignore[union-attr]
    finally:
        server.close()
        thread.join(10)
        worker.stop(timeout=30)
        services.close()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        skip_or_fail_in_ci(f"chromium is NOT installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


class Watch:
    """Console errors, CSP violations and failed page loads seen in a browser context."""

    def __init__(self) -> None:
        self.csp: list[str] = []
        self.errors: list[str] = []

    def on_console(self, message: Any) -> None:
        text = message.text
        if "CSP-VIOLATION" in text or "Content Security Policy" in text:
            self.csp.append(text)
        elif message.type == "error":
            self.errors.append(text)


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def context(playwright: Any, live: LiveApp, watch: Watch, tmp_path: Path) -> Iterator[Any]:
    """A fresh browser profile on disk (not incognito: Chromium refuses to install apps there)."""
    ctx = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
        base_url=live.url, viewport=DESKTOP, locale="he-IL", service_workers="allow")
    ctx.add_init_script(CSP_WATCH)
    ctx.on("console", watch.on_console)
    yield ctx
    ctx.close()
    assert not watch.csp, "Content Security Policy violations:\n" + "\n".join(watch.csp)


@pytest.fixture
def page(context: Any) -> Any:
    return context.pages[0] if context.pages else context.new_page()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as a test artifact: test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
