"""axe-core in a Playwright page: the WCAG 2.0, 2.1 and 2.2 A and AA rules.

axe-core comes bundled with the ``axe-playwright-python`` package (its ``axe.min.js``);
it is injected into the page and run on the whole document. A scan waits for the page to
settle first: the script run finished, the a11y element has written the theme (its
contrast rules depend on it), and a moment for components and charts to draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import axe_playwright_python

AXE_JS = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
BLOCKING = ("serious", "critical")
SETTLE_MS = 1500

_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary,
                                html: n.html.slice(0, 200)})),
  }));
}"""


@dataclass(frozen=True)
class Violation:
    """One rule broken on one element."""

    rule: str
    impact: str
    target: str
    summary: str
    html: str

    def __str__(self) -> str:
        first = self.summary.replace("\n", " ")[:220]
        return f"[{self.impact}] {self.rule} at {self.target}: {first} ({self.html[:100]})"


def settle(page, lossviz: bool = True) -> None:
    """Wait until the script run is done and (a lossviz page) the theme is known, then let
    things draw."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    if lossviz:
        page.wait_for_function("() => document.documentElement.dataset.lvTheme !== undefined")
    page.wait_for_timeout(SETTLE_MS)


def scan(page) -> list[Violation]:
    """Every violation of the WCAG A / AA rules on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE_JS)
    found = page.evaluate(_RUN, list(WCAG_TAGS))
    return [
        Violation(v["id"], v["impact"] or "", n["target"], n["summary"], n["html"])
        for v in found
        for n in v["nodes"]
    ]


def blocking(violations: list[Violation], floor: set[str] = frozenset()) -> list[Violation]:
    """The serious and critical violations whose rule does not fire on a bare page
    (``floor``: the rule ids a bare Streamlit page breaks in the same setting)."""
    return [v for v in violations if v.impact in BLOCKING and v.rule not in floor]
