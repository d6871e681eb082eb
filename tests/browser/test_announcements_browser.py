"""Screen-reader announcements and reduced motion in the plane and the training player.

What a screen reader is told lives in a polite live region (``role="status"``,
``aria-live="polite"``, visually hidden) inside each component, there from the first
render. Here, in a real browser: an arrow-key move of the playground's N is said within a
second of the key, with the read-out's own loss and kind (a word, never a colour); a slow
mouse drag is said at most about once a second while it moves and once at the drop;
under ``prefers-reduced-motion: reduce`` (emulated on the open page) Descend puts the
points at their end at once and the collapse player's Play jumps to its last frame;
the player says the step, each run's loss and its badge word when it reaches the end and
when stepped; the InfoNCE circle says the loss and the positive's share after an arrow
key. The times are the page's own (``performance.now()``), recorded in the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from lossviz.ui.points import DESCENT_STEPS
from tests.browser.conftest import start_streamlit, wait_for_app
from tests.browser.plane_helpers import (
    choose_preset,
    click_button,
    close,
    no_exception,
    plane_points,
    record_plane,
    recorded,
    to_screen,
)
from tests.browser.player_helpers import (
    ended,
    now_ms,
    player,
    record_scrubber_moves,
    scrubber_moves,
    shown,
)
from tests.browser.test_collapse_browser import open_collapse, player_button, wait_until
from tests.browser.test_playground_browser import open_playground, scene_points, settled

pytestmark = pytest.mark.browser

APP = "tests/browser/apps/plane_app.py"
KIND_WORDS = ("easy", "semi-hard", "hard")
COLOUR_WORDS = ("green", "orange", "red", "blue", "colour", "color", "#")
COLLAPSE = "/collapse?seed=101&autostart=1"  # classic batch-hard collapses beside the fix
TRIPLET_SENTENCE = re.compile(
    r"^N moved\. d\(a, p\) (?P<d_ap>[\d.]+), d\(a, n\) (?P<d_an>[\d.]+), "
    r"loss (?P<loss>[\d.]+), (?P<kind>easy|semi-hard|hard)\.$"
)

# Every change of a live region, with the page's time and what the read-out showed then;
# and the page's time of every key press and pointer release.
_LISTEN_JS = """(region) => {
    const root = region.parentElement;
    const said = (window.__lvSaid = []);
    const read = (field) => root.querySelector(`.lv-ro-item[data-field="${field}"] b`)
        ?.textContent ?? null;
    new MutationObserver(() => said.push({
        t: performance.now(),
        text: region.textContent,
        d_ap: read('d_ap'),
        d_an: read('d_an'),
        loss: read('loss'),
        hardest: read('hardest'),
        kind: root.querySelector('.lv-ro-badge')?.dataset.label ?? null,
        source: root.dataset.readoutSource ?? null,
        pShare: root.querySelector('.lv-weight[data-name="P"] .lv-weight-text')?.textContent
            ?? null,
    })).observe(region, { childList: true, characterData: true, subtree: true });
    window.__lvKeys = [];
    window.__lvUps = [];
    window.addEventListener('keydown', () => window.__lvKeys.push(performance.now()), true);
    window.addEventListener('pointerup', () => window.__lvUps.push(performance.now()), true);
}"""


def region(page: Page, component: str) -> Locator:
    """The component's live region (there is exactly one, polite, a status)."""
    found = page.locator(f"{component} [role=status]")
    expect(found).to_have_count(1)
    expect(found).to_have_attribute("aria-live", "polite")
    return found


def listen(page: Page, component: str) -> Locator:
    live = region(page, component)
    live.evaluate(_LISTEN_JS)
    return live


def said(page: Page) -> list[dict]:
    """What the region said since ``listen``, with the text's spaces normalised (a repeat
    of the same words ends in a no-break space, so that it is still a change)."""
    entries = page.evaluate("window.__lvSaid")
    for entry in entries:
        entry["text"] = entry["text"].replace("\u00a0", " ").strip()
    return entries


def wait_said(page: Page, count: int, timeout_ms: int = 5_000) -> list[dict]:
    page.wait_for_function(f"window.__lvSaid.length >= {count}", timeout=timeout_ms)
    return said(page)


def no_colour(text: str) -> None:
    assert not any(word in text.lower() for word in COLOUR_WORDS), text


# --------------------------------------------------------------------------- the plane


def test_an_arrow_key_move_is_said_within_a_second_with_the_readouts_loss_and_kind(
    page, app_server
):
    open_playground(page, app_server)
    settled(page)
    live = listen(page, ".lv-plane")
    expect(live).to_have_text("")  # there from the first render, silent until a move
    point = page.locator('.lv-plane .lv-point[data-name="N"]')
    point.focus()
    expect(point).to_be_focused()
    page.keyboard.press("ArrowRight")
    first = wait_said(page, 1)[0]
    key = page.evaluate("window.__lvKeys")[-1]
    assert 0 <= first["t"] - key < 1000, (first, key)
    match = TRIPLET_SENTENCE.match(first["text"])
    assert match, first
    # The read-out's numbers as it showed them at that moment, and its kind as a word.
    for field in ("d_ap", "d_an", "loss", "kind"):
        assert match[field] == first[field], (field, first)
    no_colour(first["text"])
    # A burst of keys is one sentence (after the pause), about the point where it ended.
    for _ in range(4):
        page.keyboard.press("ArrowUp")
    page.wait_for_timeout(1500)
    burst = said(page)[1:]
    assert len(burst) == 1, burst
    keys = page.evaluate("window.__lvKeys")
    assert 0 <= burst[0]["t"] - keys[-1] < 1000, (burst, keys)
    match = TRIPLET_SENTENCE.match(burst[0]["text"])
    assert match and all(match[f] == burst[0][f] for f in ("d_ap", "d_an", "loss", "kind"))
    settled(page)
    assert len(said(page)) == 2  # Python's answer says nothing more
    no_exception(page)


def test_a_typed_distance_is_said_once_pythons_numbers_show(page, app_server):
    """A typed distance has no numbers in the browser: the sentence waits for Python's."""
    open_playground(page, app_server, "/playground?distance=custom")
    settled(page)
    listen(page, ".lv-plane")
    page.locator('.lv-plane .lv-point[data-name="N"]').focus()
    page.keyboard.press("ArrowRight")
    first = wait_said(page, 1, timeout_ms=30_000)[0]
    assert first["source"] == "server", first  # said with Python's numbers, not before
    match = TRIPLET_SENTENCE.match(first["text"])
    assert match, first
    for field in ("d_ap", "d_an", "loss", "kind"):
        assert match[field] == first[field], (field, first)
    assert "…" not in first["text"]
    no_exception(page)


def test_a_slow_drag_is_said_about_once_a_second_and_once_at_the_drop(page, app_server):
    open_playground(page, app_server)
    settled(page)
    listen(page, ".lv-plane")
    dot = page.locator('.lv-plane .lv-point[data-name="N"] .lv-dot').bounding_box()
    assert dot is not None
    x0, y0 = dot["x"] + dot["width"] / 2, dot["y"] + dot["height"] / 2
    x1, y1 = to_screen(page, (1.5, 2.5))
    page.mouse.move(x0, y0)
    page.mouse.down()
    start = now_ms(page)
    moves = 30  # 3 s: a move every 100 ms
    for i in range(1, moves + 1):
        page.mouse.move(x0 + (x1 - x0) * i / moves, y0 + (y1 - y0) * i / moves)
        page.wait_for_timeout(100)
    page.mouse.up()
    page.wait_for_function("window.__lvUps.length >= 1")
    up = page.evaluate("window.__lvUps")[-1]
    assert up - start >= 2900, up - start
    settled(page)
    page.wait_for_timeout(1200)  # room for a stray sentence, if one came
    entries = said(page)
    during = [e for e in entries if e["t"] < up]
    after = [e for e in entries if e["t"] >= up]
    # At most one a second (the first at the first move), so at most one per started second.
    most = int((up - start) // 1000) + 1
    assert 2 <= len(during) <= most, (most, [(round(e["t"] - start), e["text"]) for e in during])
    gaps = [b["t"] - a["t"] for a, b in zip(during, during[1:], strict=False)]
    assert all(gap >= 950 for gap in gaps), gaps
    assert len(after) == 1, after  # the drop, once; Python's answer says nothing more
    drop = after[0]
    assert drop["t"] - up < 300, drop["t"] - up
    match = TRIPLET_SENTENCE.match(drop["text"])
    assert match and match["loss"] == drop["loss"] and match["kind"] == drop["kind"], drop
    for entry in entries:
        assert TRIPLET_SENTENCE.match(entry["text"]), entry
        no_colour(entry["text"])
    no_exception(page)


def test_reduced_motion_descend_puts_the_points_at_their_end_at_once(page, app_server):
    open_playground(page, app_server)
    choose_preset(page, "Hard")
    expect(page.get_by_test_id("kind-badge")).to_have_attribute("data-kind", "hard")
    start = settled(page)
    page.emulate_media(reduced_motion="reduce")  # on the open page: asked at each action
    listen(page, ".lv-plane")
    record_plane(page)
    click_button(page, f"Descend {DESCENT_STEPS}")
    page.wait_for_function("window.__lvSaid.length >= 1", timeout=30_000)
    end = settled(page)
    assert scene_points(end) != scene_points(start)
    states = recorded(page)
    assert all(animating != "1" for _, animating in states), states
    # Only the start and the end were ever drawn: no frame in between.
    ends = (scene_points(start)["N"], scene_points(end)["N"])
    drawn = {tuple(points["N"]) for points, _ in states}
    assert all(any(close(n, e, 1e-6) for e in ends) for n in drawn), (drawn, ends)
    assert all(close(plane_points(page)[n], xy, 1e-6) for n, xy in scene_points(end).items())
    text = said(page)[0]["text"]
    assert text.startswith("The points moved. d(a, p) ") and text.endswith(
        tuple(f", {kind}." for kind in KIND_WORDS)
    ), text
    no_exception(page)


# --------------------------------------------------------------------------- the player


def expected_player_sentence(page: Page) -> str:
    """The player's sentence, built from what it shows: its status's step, and each run's
    title, the loss its read-out writes and its badge's word."""
    status = player(page).locator(".lv-status").inner_text()
    step = re.match(r"step (\d+ of \d+)", status)
    assert step, status
    parts = [f"Step {step[1]}."]
    titles = player(page).locator(".lv-title").all_inner_texts()
    readouts = player(page).locator(".lv-readout").all_inner_texts()
    badges = player(page).locator(".lv-badge").all_inner_texts()
    for title, readout, badge in zip(titles, readouts, badges, strict=True):
        loss = re.search(r"loss (not finite|[\d.]+)", readout)
        assert loss, readout
        parts.append(f"{title}: loss {loss[1]}, {badge}.")
    return " ".join(parts)


def test_the_player_says_the_step_and_collapsed_at_the_end_and_when_stepped(page, app_server):
    open_collapse(page, app_server, COLLAPSE)
    live = listen(page, ".lv-player")
    final = wait_until(page, ended, "the end of the run")
    assert final.step == 300
    expect(live).not_to_have_text("")
    entries = said(page)
    assert len(entries) == 1, entries  # nothing while it played: once, at the end
    text = entries[0]["text"]
    assert text == expected_player_sentence(page), text
    assert text.startswith("Step 300 of 300. Batch-hard (classic): loss ")
    assert ", collapsed. " in text and text.endswith(", not collapsed."), text
    # A step back with the button, then on with the key: each said, as now shown.
    player_button(page, "One recorded step back").click()
    entries = wait_said(page, 2)
    assert entries[-1]["text"] == expected_player_sentence(page)
    assert entries[-1]["text"].startswith(f"Step {shown(page).step} of 300. ")
    player(page).focus()
    page.keyboard.press("ArrowRight")
    entries = wait_said(page, 3)
    assert entries[-1]["text"] == expected_player_sentence(page) == text
    no_exception(page)


def test_reduced_motion_play_jumps_to_the_last_frame_at_once(page, app_server):
    open_collapse(page, app_server, COLLAPSE)
    final = wait_until(page, ended, "the end of the run")
    page.emulate_media(reduced_motion="reduce")  # on the open page: asked at each Play
    player_button(page, "Back to step 0").click()
    assert shown(page).frame == 0
    listen(page, ".lv-player")
    record_scrubber_moves(page)
    page.wait_for_timeout(200)
    start = now_ms(page)
    player_button(page, "Play").click()
    now = shown(page)  # in the same task as the click's paint: no frame in between
    assert now.frame == final.frame and not now.playing, now
    page.wait_for_timeout(1000)
    moves = scrubber_moves(page, start, now_ms(page))
    assert len(moves) == 1, moves  # one jump, no glide through the frames between
    entries = said(page)
    assert len(entries) == 1 and entries[0]["t"] - start < 500, entries
    assert entries[0]["text"] == expected_player_sentence(page)
    assert entries[0]["text"].startswith("Step 300 of 300. ")
    no_exception(page)


# --------------------------------------------------------------------------- InfoNCE


@pytest.fixture(scope="module")
def infonce_server() -> Iterator[str]:
    with start_streamlit(APP, "streamlit-announcements") as base_url:
        yield base_url


def test_the_infonce_circle_says_the_loss_and_the_positives_share_after_a_key(page, infonce_server):
    page.goto(f"{infonce_server}/?mode=infonce&k=4&tau=0.2")
    wait_for_app(page)
    expect(page.locator(".lv-plane .lv-point")).to_have_count(6)
    expect(page.locator(".lv-plane")).to_have_attribute("data-readout-source", "server")
    listen(page, ".lv-plane")
    point = page.locator('.lv-point[data-name="N2"]')
    point.focus()
    page.keyboard.press("ArrowRight")  # 3 degrees counterclockwise
    first = wait_said(page, 1)[0]
    key = page.evaluate("window.__lvKeys")[-1]
    assert 0 <= first["t"] - key < 1000, (first, key)
    degrees = re.search(r"(\d+) degrees", point.get_attribute("aria-label") or "")
    assert degrees
    want = (
        f"N2 moved to {degrees[1]} degrees. loss {first['loss']}, P takes {first['pShare']}, "
        f"hardest negative {first['hardest']}."
    )
    assert first["text"] == want, (first, want)
    assert re.fullmatch(r"\d+ %", first["pShare"]) and re.fullmatch(
        r"N\d takes \d+ %", first["hardest"]
    ), first
    no_colour(first["text"])
    no_exception(page)
