"""The training player: a shared run's recorded frames, animated in the browser.

A Custom Components v2 element (``player.js``, ``player.css``), inline, no iframe.
The server sends frames that :mod:`lossviz.training.frame_codec` encoded once per run;
the browser decodes them, draws the points, read-outs, each run's triplet diagram
(a canvas with ``role="img"`` whose ``aria-label`` says what it shows) and the curves,
and plays them at its own pace (play, pause, step, restart, scrub, speed), so a viewer
costs the server the bytes it is sent and nothing per animation frame.

Two roles of one component::

    player("collapse", run_id, meta, frames, finished, play)   # once per script run, keyed
    feed("collapse", run_id, start, more_frames, finished)     # while the run computes

A keyed element may be mounted only once per script run, and re-mounting an
unkeyed one rebuilds its DOM (a visible flicker), so frames computed while a
script run waits are carried by small unkeyed *feeds* that render nothing and
hand their frames to the player of the same name. Frames carry their index,
so a feed that arrives early or twice changes nothing.

``play`` is a counter: each time it grows, the browser starts playing (from
the start if it was at the end). Everything else about playback stays in
the browser: nothing a viewer does there reaches the server.
"""

from __future__ import annotations

from lossviz.core.triplets import Kind
from lossviz.figures import CLASS_COLORS, COLORS, KIND_COLORS, RUN_COLORS
from lossviz.ui.components.component import asset_component
from lossviz.ui.components.wire import json_list, json_payload

_mount = asset_component("player")

STYLE = {
    "colors": list(CLASS_COLORS),
    "run_colors": list(RUN_COLORS),
    # A frame's shares are in Kind order (easy, semi-hard, hard).
    "kinds": [{"name": kind.label, "color": KIND_COLORS[kind]} for kind in Kind],
    "margin_color": COLORS["margin"],
    "rim_color": "#333333",
    "frame_color": "#b9bcc6",
    "cursor_color": "#7f7f7f",
    "text_color": "#6b6f7b",
    # The triplet diagram's cells and words, and the words' backing (the theme's, in a page).
    "ink_color": "#31333f",
    "background_color": "#ffffff",
}


def player(
    name: str,
    run_id: str,
    meta: dict,
    frames: list[bytes],
    finished: bool,
    play: int = 0,
    note: str = "",
    preview: bool = False,
) -> None:
    """Mount the player ``name`` showing ``frames`` (from index 0) of run ``run_id``.

    ``meta``: :func:`lossviz.training.frame_codec.encode_meta`; ``frames``: each frame's
    JSON (:func:`lossviz.training.frame_codec.frame_json`, spliced in as it is);
    ``finished``: no more frames will come; ``play``: see the module docstring; ``note``: a line
    shown above the points (text only); ``preview``: a still picture, the
    playback controls disabled.
    """
    head = {
        "role": "player",
        "player": name,
        "run": run_id,
        "meta": {**meta, **STYLE},
        "start": 0,
        "finished": finished,
        "play": play,
        "note": note,
        "preview": preview,
    }
    data = json_payload(head, frames=json_list(frames))
    _mount(key=f"{name}.player", data=data, height="content")


def feed(name: str, run_id: str, start: int, frames: list[bytes], finished: bool) -> None:
    """Hand ``frames`` (indices ``start``...) of run ``run_id`` to the player ``name``."""
    head = {"role": "feed", "player": name, "run": run_id, "start": start, "finished": finished}
    _mount(data=json_payload(head, frames=json_list(frames)), height="content")
