"""lossviz entry point: `streamlit run app.py` (or `make run`)."""

import streamlit as st

from lossviz.ui.navigation import HOME, PAGES
from lossviz.ui.setup import configure_process, device_badge

st.set_page_config(page_title="lossviz", page_icon=":material/scatter_plot:", layout="wide")
configure_process()

navigation = st.navigation(
    [st.Page(HOME.path, title=HOME.title, icon=HOME.icon, default=True)]
    + [st.Page(page.path, title=page.title, icon=page.icon) for page in PAGES]
)
device_badge()
navigation.run()
