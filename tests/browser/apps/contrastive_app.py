"""A tiny app around pages/contrastive.py, for its browser tests before (or besides) app.py.

`streamlit run tests/browser/apps/contrastive_app.py` shows it by hand,
with app.py's wide layout and process setup. The page is the only (default) one, at /.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from lossviz.ui.setup import configure_process

PAGE = Path(__file__).resolve().parents[3] / "pages" / "contrastive.py"

st.set_page_config(page_title="lossviz contrastive", layout="wide")
configure_process()
st.navigation([st.Page(PAGE, title="Contrastive loss")]).run()
