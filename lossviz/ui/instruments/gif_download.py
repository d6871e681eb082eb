"""The collapse run as an animated GIF for slides: built on request, once per run and server.

A GIF is a pure function of a finished run, so the process keeps the last few built
(``GifShelf``, in ``st.cache_resource``): when 30 students press the button on the
teacher's run, one builds it (the others wait for that build) and all download the
same bytes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import streamlit as st

from lossviz.training.collapse import LOSS_LABELS, load_points
from lossviz.training.run_gif import gif_name, run_gif
from lossviz.training.run_registry import SharedRun

MAX_GIFS = 8  # about 1 MB each
REQUEST_KEY = "collapse.gif_for"  # the run id whose GIF this session asked for


class GifShelf:
    """Built GIFs by run id, the ``capacity`` most recently used; one build per id at a time."""

    def __init__(self, capacity: int = MAX_GIFS) -> None:
        self.capacity = capacity
        self._gifs: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[str, threading.Lock] = {}

    def get(self, run_id: str) -> bytes | None:
        with self._lock:
            if run_id in self._gifs:
                self._gifs.move_to_end(run_id)
            return self._gifs.get(run_id)

    def build(self, run_id: str, make: Callable[[], bytes]) -> bytes:
        """The GIF of ``run_id``: kept, or made now by ``make()`` (a concurrent request for
        the same id waits for this build instead of making its own)."""
        with self._lock:
            gate = self._building.setdefault(run_id, threading.Lock())
        with gate:
            kept = self.get(run_id)
            if kept is not None:
                return kept
            try:
                data = make()
                with self._lock:
                    self._gifs[run_id] = data
                    while len(self._gifs) > self.capacity:
                        self._gifs.popitem(last=False)
            finally:
                with self._lock:
                    self._building.pop(run_id, None)
            return data


@st.cache_resource(show_spinner=False)
def shelf() -> GifShelf:
    return GifShelf()


def _make(run: SharedRun, report: Callable[[float], None]) -> bytes:
    config = run.key[0]
    return run_gif(
        run.frames(),
        [LOSS_LABELS[c.loss] for c in run.key],
        load_points(config.dataset).names,
        config.margin,
        progress=report,
    )


def _ask(run_id: str) -> None:
    st.session_state[REQUEST_KEY] = run_id


def gif_download(run: SharedRun) -> None:
    """For a finished run: a button that builds the GIF (with a progress bar), then a
    download button; straight to the download when the server already has it."""
    data = shelf().get(run.id)
    if data is None and st.session_state.get(REQUEST_KEY) != run.id:
        st.button(
            "Make a GIF for slides", icon=":material/gif_box:", on_click=_ask, args=(run.id,),
            help="Both runs side by side, as the player shows them, looping; about 1 MB.",
        )  # fmt: skip
        return
    if data is None:
        bar = st.progress(0.0, text="Drawing the GIF…")
        data = shelf().build(
            run.id, lambda: _make(run, lambda f: bar.progress(f, text=f"Drawing the GIF… {f:.0%}"))
        )
        bar.empty()
    st.download_button(
        f"Download the GIF ({len(data) / 2**20:.1f} MB)", data, file_name=gif_name(run.key),
        mime="image/gif", icon=":material/download:", on_click="ignore",
    )  # fmt: skip


__all__ = ["GifShelf", "gif_download", "shelf"]
