"""Helpers for browser tests of the training player (lossviz/ui/components/assets/player.js).

They read only what a viewer sees or a screen reader is told, never the player's state:
the status line, the read-outs and badges, the name of the Play / Pause button, the
scrubber (a range input named "Recorded step": its value is the recorded frame shown, its
maximum the last frame received so far) and the pixels of the canvases. Also used by
``bench/collapse_motion.py``.
"""

from __future__ import annotations

import base64
import io
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image
from playwright.sync_api import Locator, Page

TIMEOUT_S = 120.0

# One read of what the player shows, so that the fields belong to one paint.
_SHOWN_JS = """(el) => {
    const slider = el.querySelector('input[type=range]');
    const play = [...el.querySelectorAll('button')]
        .find((b) => ['Play', 'Pause'].includes(b.getAttribute('aria-label')));
    return {
        scrubber: slider.value,
        last: slider.max,
        status: el.querySelector('.lv-status').textContent,
        readout: el.querySelector('.lv-readout')?.textContent ?? '',
        button: play.getAttribute('aria-label'),
    };
}"""

# A viewer's eye on the scrubber: the time of each animation frame in which it moved (the
# player paints in animation frames and moves the scrubber with the points).
_RECORD_MOVES_JS = """(el) => {
    const slider = el.querySelector('input[type=range]');
    const moves = (window.__testScrubberMoves = []);
    let last = slider.value;
    const sample = (now) => {
        if (slider.value !== last) {
            last = slider.value;
            moves.push(now);
        }
        requestAnimationFrame(sample);
    };
    requestAnimationFrame(sample);
}"""


@dataclass(frozen=True)
class Shown:
    """What the player shows at one moment.

    ``frame``: the recorded frame on screen (the scrubber's value, rounded down: it
    glides between two frames while playing); ``frames``: how many have arrived (the
    scrubber's range); ``step``: the first run's step in its read-out; ``playing``: the
    button offers Pause; ``finished``: the status line no longer says how far the server
    has trained (and is not the preview's "before training").
    """

    frame: int
    frames: int
    step: int | None
    playing: bool
    finished: bool
    status: str


def player(page: Page) -> Locator:
    return page.locator(".lv-player")


def shown(page: Page) -> Shown:
    raw = player(page).evaluate(_SHOWN_JS)
    step = re.match(r"step (\d+) ·", raw["readout"])
    return Shown(
        frame=int(float(raw["scrubber"]) + 1e-9),
        frames=int(raw["last"]) + 1,
        step=int(step[1]) if step else None,
        playing=raw["button"] == "Pause",
        finished=re.fullmatch(r"step \d+ of \d+", raw["status"]) is not None,
        status=raw["status"],
    )


def wait_shown(
    page: Page, condition: Callable[[Shown], bool], what: str, timeout_s: float = TIMEOUT_S
) -> Shown:
    """Poll until what the player shows meets ``condition``; returns that."""
    deadline = time.monotonic() + timeout_s
    while not condition(now := shown(page)):
        assert time.monotonic() < deadline, f"not within {timeout_s} s: {what} ({now})"
        page.wait_for_timeout(25)
    return now


def ended(s: Shown) -> bool:
    return s.finished and not s.playing


def scrubber(page: Page) -> Locator:
    return player(page).get_by_role("slider", name="Recorded step")


def scrub_to(page: Page, frame: int) -> None:
    """Drag the scrubber to a recorded frame (its value is a frame index)."""
    scrubber(page).fill(str(frame))


def record_scrubber_moves(page: Page) -> None:
    """Start noting the times of the animation frames in which the scrubber moved."""
    player(page).evaluate(_RECORD_MOVES_JS)


def scrubber_moves(page: Page, start: float, end: float) -> list[float]:
    """The noted times (``performance.now()`` milliseconds) from ``start`` to ``end``."""
    return [t for t in page.evaluate("window.__testScrubberMoves") if start <= t <= end]


def now_ms(page: Page) -> float:
    return page.evaluate("() => performance.now()")


def canvas_image(page: Page, run: int) -> np.ndarray:
    """What the run's scatter canvas shows, (H, W, 4) uint8 RGBA in device pixels (alpha 0:
    nothing drawn there). Read from the canvas itself, so the page's scroll position and
    Streamlit's header, which may cover part of it on the screen, do not matter."""
    url = player(page).locator("canvas.lv-scatter").nth(run).evaluate("(c) => c.toDataURL()")
    png = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))
