"""Links a mischievous student could hand out, in a real browser: every page, every parameter.

- Every page is opened with every link parameter it reads, the presenter's (``hide``,
  ``present``, ``projector``) and an unknown one set to Markdown, HTML or LaTeX payloads
  (one page load per page and kind; the Markdown kind rotates image, link, bold, colour
  directive, icon shortcode and bare address across the parameters). Each parameter's
  payload carries its own marker. The test fails on any image, link, emphasis, heading,
  formula, icon or coloured span whose text or address holds a marker, on any request to
  a payload's address (an image the browser fetched), and on a marker that is not shown
  as plain text in a notice when the page's scene reports that parameter as bad.
- Every page's "Link for the class" opens that page (the class quiz's was a blank page).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest

from lossviz.ui.navigation import HOME, PAGES, PageInfo
from lossviz.ui.presenter import PRESENTER_PARAMS
from tests.browser.conftest import screenshot, wait_for_app

PAYLOAD_HOST = "127.0.0.1:9"  # nothing listens there; a request to it is the failure
MARKDOWN = (
    "![{m}](http://" + PAYLOAD_HOST + "/{m}.png)",
    "[{m}](http://" + PAYLOAD_HOST + "/{m})",
    "**{m}** _{m}_",
    ":red[{m}] ~~{m}~~",
    ":material/home: {m}",
    "http://{m}.example",
)
KINDS = {
    "markdown": MARKDOWN,
    "html": ("<img src=//" + PAYLOAD_HOST + "/{m}><b>{m}</b>",),
    "latex": (r"$\frac{{{m}}}{{2}}$", "$${m}^2$$"),
}
ALL_PAGES = [HOME, *PAGES]

# Elements a payload must never become, and text nodes that must sit in plain paragraphs.
_FIND_LIVE_JS = """(markers) => {
  const live = [];
  const named = (text) => markers.filter((m) => (text || "").includes(m));
  const selector = "img, a, strong, em, b, i, del, s, h1, h2, h3, h4, h5, h6, blockquote, "
    + "table, .katex, .katex-display, [data-testid=stIconMaterial], code:not(pre code)";
  for (const el of document.querySelectorAll(selector)) {
    const where = (el.getAttribute("src") || "") + " " + (el.getAttribute("href") || "");
    for (const m of named(el.textContent + " " + where)) live.push(`${el.tagName}: ${m}`);
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const shown = [];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const found = named(node.nodeValue);
    if (!found.length) continue;
    const parent = node.parentElement;
    shown.push(...found);
    const plain = ["P", "DIV", "LI"].includes(parent.tagName)
      && [...parent.children].every((c) => c.tagName === "BR");
    if (!plain) for (const m of found) live.push(`text in ${parent.tagName}: ${m}`);
  }
  return {live, shown: [...new Set(shown)]};
}"""


UNKNOWN = "(unknown)"  # the unknown parameter: its name is the payload


def _query(page: PageInfo, kind: str) -> tuple[dict[str, str], dict[str, str]]:
    """The link's query and each parameter's marker (the unknown one's is in its name)."""
    templates = KINDS[kind]
    query, markers = {}, {}
    for i, name in enumerate([*sorted(page.link_params | set(PRESENTER_PARAMS)), UNKNOWN]):
        marker = f"lvq{i}x"
        markers[name] = marker
        payload = templates[i % len(templates)].format(m=marker)
        if name == UNKNOWN:
            query[payload] = "1"
        else:
            query[name] = payload
    if "room" in query:  # the class quiz: a well-formed code, so the room's views run
        query["room"], markers["room"] = "ABCDEF", "ABCDEF"
    return query, markers


def _reported(page: PageInfo, query: dict[str, str]) -> set[str]:
    """The parameters whose payload the page must quote in a notice: the presenter's, the
    unknown one, the lesson's step and the scene fields the scene's reader refuses, as far
    as the notice lists them (the class quiz's room views show no scene)."""
    found = {*PRESENTER_PARAMS, UNKNOWN} | ({"step"} & page.link_params)
    if page.scene is not None and "room" not in query:
        _, notes = page.scene.parse_query(query)
        listed = notes[:6]  # the notice lists six bad values, then how many more
        found |= {n.split(":", 1)[0] for n in listed}
    return found


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("info", ALL_PAGES, ids=lambda p: Path(p.path).stem)
def test_link_values_are_shown_as_plain_text(page, app_server, info, kind):
    query, markers = _query(info, kind)
    fetched = []
    page.on("request", lambda r: fetched.append(r.url) if PAYLOAD_HOST in r.url else None)
    path = "/" + ("" if info is HOME else Path(info.path).stem)
    page.goto(f"{app_server}{path}?{urlencode(query)}")
    wait_for_app(page)
    page.wait_for_timeout(300)  # images and fonts a live payload would load
    found = page.evaluate(_FIND_LIVE_JS, list(markers.values()))
    assert not found["live"], found["live"]
    assert not fetched, fetched
    by_marker = {marker: name for name, marker in markers.items()}
    shown = {by_marker[m] for m in found["shown"]}
    expected = _reported(info, query)
    assert expected <= shown, sorted(expected - shown)
    if kind == "markdown":
        screenshot(page, f"link-safety-{Path(info.path).stem}")


@pytest.mark.parametrize("info", ALL_PAGES, ids=lambda p: Path(p.path).stem)
def test_every_pages_class_link_opens_that_page(page, app_server, info):
    from playwright.sync_api import expect

    path = "/" + ("" if info is HOME else Path(info.path).stem)
    page.goto(f"{app_server}{path}")
    wait_for_app(page)
    page.get_by_test_id("stSidebar").get_by_text("Link for the class").click()
    code = page.get_by_role("dialog", name="Link for the class").get_by_test_id("stCode")
    expect(code).to_be_visible()
    link = code.inner_text().strip()
    assert link.startswith(f"{app_server}{path}"), link
    title = page.locator("h1").first.inner_text().strip()
    other = page.context.new_page()
    try:
        other.goto(link)
        wait_for_app(other)
        expect(other.locator("h1").first).to_have_text(title)
        expect(other.get_by_test_id("stException")).to_have_count(0)
    finally:
        other.close()
