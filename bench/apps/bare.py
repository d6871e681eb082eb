"""The floor the load test compares pages with: a bare Streamlit page, one button and one metric.

Served the way app.py is (``deploy.serve``, ``.streamlit/config.toml``), so the difference
between it and a lossviz page is what the page itself costs.
"""

import streamlit as st

st.title("Bare page")
if "clicks" not in st.session_state:
    st.session_state.clicks = 0
if st.button("Click"):
    st.session_state.clicks += 1
st.metric("clicks", st.session_state.clicks)
