"""lossviz entry point: `streamlit run app.py` (or `make run`)."""

import streamlit as st

from lossviz.ui.link_check import warn_unknown_params
from lossviz.ui.navigation import HOME, PAGES, page_by_url_path
from lossviz.ui.presenter import presenter_setup, sidebar_state
from lossviz.ui.setup import configure_process, device_badge, layout_style

# The sidebar starts collapsed on a projector (`?present=1`): read from the link first.
st.set_page_config(page_title="lossviz", page_icon=":material/scatter_plot:", layout="wide",
                   initial_sidebar_state=sidebar_state())  # fmt: skip
configure_process()
layout_style()
presenter_setup()

navigation = st.navigation(
    [st.Page(HOME.path, title=HOME.title, icon=HOME.icon, default=True)]
    + [st.Page(page.path, title=page.title, icon=page.icon) for page in PAGES]
)
device_badge()
if (page := page_by_url_path(navigation.url_path)) is not None:
    warn_unknown_params(page)
navigation.run()
