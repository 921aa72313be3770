"""axe-core in the browser tests: injected into every page a test context opens (as an init script,
so the page's CSP does not apply to it and students never get it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")

RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ") + " — " + (n.failureSummary || "").slice(0, 200))}));
}"""


def install_axe(context: Any) -> None:
    context.add_init_script(path=str(AXE))


def serious_violations(page: Any) -> list[dict[str, Any]]:
    """axe's serious and critical findings on the page as it is now."""
    page.wait_for_function("() => typeof axe !== 'undefined'")
    return [v for v in page.evaluate(RUN) if v["impact"] in SERIOUS]
