"""A shared run as an animated GIF for slides: built on request, once per run and server.

Both kinds of shared run: the collapse page's triplet runs (:func:`run_gif`, the player's
look) and the SimCLR page's contrastive runs (:func:`contrastive_gif`, the figure's point
panels); :func:`_make` picks by the run's configuration type. A GIF is a pure function of a
finished run, so the process keeps the last few built (``GifShelf``, in
``st.cache_resource``): when 30 students press the button on the teacher's run, one builds
it (the others wait for that build) and all download the same bytes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import streamlit as st

from lossviz.training import contrastive_gif as simclr_gif
from lossviz.training import run_gif as collapse_gif
from lossviz.training.collapse import LOSS_LABELS, load_points
from lossviz.training.contrastive_training import ContrastiveConfig, probe_labels
from lossviz.training.run_registry import SharedRun

MAX_GIFS = 8  # about 1 MB each
REQUEST_KEY = "collapse.gif_for"  # the run id whose GIF this session asked for
HELP = "The runs side by side, one frame per record, looping; about 1 MB or less."


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


def _contrastive(run: SharedRun) -> bool:
    """Whether ``run`` is the SimCLR page's (contrastive configurations), not the collapse's."""
    return isinstance(run.key[0], ContrastiveConfig)


def _make(run: SharedRun, report: Callable[[float], None]) -> bytes:
    """The GIF of a finished run, of its kind (``report(fraction)`` as it is drawn)."""
    config = run.key[0]
    if _contrastive(run):
        return simclr_gif.contrastive_gif(
            run.frames(),
            probe_labels(config.seed).numpy(),
            simclr_gif.gif_titles(run.key),
            report=report,
        )
    return collapse_gif.run_gif(
        run.frames(),
        [LOSS_LABELS[c.loss] for c in run.key],
        load_points(config.dataset).names,
        config.margin,
        progress=report,
    )


def file_name(run: SharedRun) -> str:
    """The GIF's file name: ``simclr-<run id>.gif`` or the collapse run's descriptive one."""
    return simclr_gif.gif_name(run.key) if _contrastive(run) else collapse_gif.gif_name(run.key)


def _ask(run_id: str) -> None:
    st.session_state[REQUEST_KEY] = run_id


def gif_download(run: SharedRun, help: str = HELP) -> None:
    """For a finished run (either kind): a button that builds the GIF (with a progress bar),
    then a download button; straight to the download when the server already has it.
    ``help``: the button's tooltip (a page may say what its GIF shows)."""
    data = shelf().get(run.id)
    if data is None and st.session_state.get(REQUEST_KEY) != run.id:
        st.button(
            "Make a GIF for slides", icon=":material/gif_box:", on_click=_ask, args=(run.id,),
            help=help,
        )  # fmt: skip
        return
    if data is None:
        bar = st.progress(0.0, text="Drawing the GIF…")
        data = shelf().build(
            run.id, lambda: _make(run, lambda f: bar.progress(f, text=f"Drawing the GIF… {f:.0%}"))
        )
        bar.empty()
    st.download_button(
        f"Download the GIF ({len(data) / 2**20:.1f} MB)", data, file_name=file_name(run),
        mime="image/gif", icon=":material/download:", on_click="ignore",
    )  # fmt: skip


__all__ = ["HELP", "GifShelf", "file_name", "gif_download", "shelf"]
