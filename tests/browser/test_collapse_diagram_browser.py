"""The triplet diagram inside the collapse page's player, in a real browser.

Trains the collapse preset (classic batch-hard beside the fix) and reads what a viewer
sees or a screen reader is told: each run's diagram canvas (``role="img"``) and its
``aria-label``, which says what share of the run's triplets sit in the cell at (0, 0).
As classic batch-hard collapses, its triplets slide there (the diagram's axes stay those
of step 0); the fix keeps them spread. The shading is read from the canvas's pixels: at
the end the cell at (0, 0) is the page's ink and the rest of the plane bare, where step 0
had triplets. A screenshot is saved to ``/tmp/collapse_diagram.png``.
"""

from __future__ import annotations

import base64
import io
import re
import shutil

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import SCREENSHOTS
from tests.browser.plane_helpers import click_button, no_exception, shot
from tests.browser.player_helpers import ended, player, scrub_to, shown
from tests.browser.test_collapse_browser import open_collapse, player_button, wait_until

pytestmark = pytest.mark.browser

PRESET = "/collapse"  # the collapse preset: classic batch-hard (left) beside the fix
DIAGRAM = {"left": 40, "right": 10, "top": 24, "bottom": 38}  # player.js: the plot's margins
BINS = 24  # lossviz/training/frame_codec.py's DIAGRAM_BINS
INK = np.array([0x31, 0x33, 0x3F])  # the light theme's text colour, the fullest cell's shade
AWAY = (16, 8)  # a cell of the hard band, off the lines and the words
SHOT = "/tmp/collapse_diagram.png"
LABEL = re.compile(
    r"^Triplet diagram of (?P<title>.+), step (?P<step>\d+): (?P<corner><?[\d.]+)% of its "
    r"(?P<total>[\d,]+) triplets have both distances under [\d.e+-]+, next to \(0, 0\); "
    r"easy <?[\d.]+%, semi-hard <?[\d.]+%, hard <?[\d.]+%$"
)


def diagram(page: Page, run: int) -> Locator:
    return player(page).locator("canvas.lv-diagram").nth(run)


def told(page: Page, run: int) -> re.Match:
    """The run's diagram as a screen reader hears it, parsed."""
    label = diagram(page, run).get_attribute("aria-label") or ""
    match = LABEL.match(label)
    assert match, label
    return match


def pixels(page: Page, run: int) -> tuple[np.ndarray, float]:
    """The diagram canvas's RGBA pixels (device pixels) and device pixels per CSS pixel."""
    canvas = diagram(page, run)
    url = canvas.evaluate("(c) => c.toDataURL()")
    image = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
    box = canvas.bounding_box()
    assert box is not None
    return image.astype(int), image.shape[1] / box["width"]


def cell(page: Page, run: int, i: int, j: int) -> np.ndarray:
    """The RGBA pixel at the centre of the cell with ``d(a, p)`` in bin ``i`` and ``d(a, n)``
    in bin ``j`` (the canvas is transparent where nothing is drawn: a bare band is faint)."""
    image, ratio = pixels(page, run)
    size = image.shape[1] / ratio - DIAGRAM["left"] - DIAGRAM["right"]
    x = DIAGRAM["left"] + (i + 0.5) * size / BINS
    y = DIAGRAM["top"] + size - (j + 0.5) * size / BINS
    return image[int(y * ratio), int(x * ratio)]


def test_the_triplets_slide_to_the_origin_as_batch_hard_collapses(page, app_server):
    open_collapse(page, app_server, PRESET)
    expect(player(page).get_by_role("img")).to_have_count(2)
    click_button(page, "Train")
    final = wait_until(page, ended, "the end of the run")
    assert final.step == 300

    # At the last frame: the classic run's triplets all but all at (0, 0), the fix's not.
    last = [told(page, run) for run in (0, 1)]
    assert [m["step"] for m in last] == ["300", "300"]
    assert last[0]["title"] == "Batch-hard (classic)"
    assert float(last[0]["corner"]) >= 90, last[0].string
    assert float(last[1]["corner"]) < 50, last[1].string
    for run in (0, 1):
        image, _ = pixels(page, run)
        drawn = image[..., 3] > 0
        assert drawn.mean() > 0.3, (run, drawn.mean())  # bands, cells, lines, words
    # The cell at (0, 0) in the ink (the fullest cell); one far from it, a bare band.
    origin, away = cell(page, 0, 0, 0), cell(page, 0, AWAY[0], AWAY[1])
    assert origin[3] >= 230 and np.abs(origin[:3] - INK).max() <= 40, origin
    assert away[3] <= 60, away
    shot(page, "collapse-diagram")
    shutil.copy(SCREENSHOTS / "collapse-diagram.png", SHOT)

    # At step 0 the same axes show the triplets spread out: little at (0, 0)...
    player_button(page, "Back to step 0").click()
    start = told(page, 0)
    assert start["step"] == "0" and start["total"] == last[0]["total"]
    corner = float(start["corner"].lstrip("<"))
    assert corner < 10 and corner * 9 < float(last[0]["corner"])
    assert cell(page, 0, AWAY[0], AWAY[1])[3] >= 100  # shaded: triplets there
    # ...and the diagram follows the scrubber to the last frame again.
    scrub_to(page, final.frame)
    assert shown(page).frame == final.frame
    assert told(page, 0)["corner"] == last[0]["corner"]
    assert cell(page, 0, AWAY[0], AWAY[1])[3] <= 60
    no_exception(page)
