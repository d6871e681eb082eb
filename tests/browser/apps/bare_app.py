"""A bare Streamlit page (a title, a button, a metric): what axe-core finds here is
Streamlit's own, the floor tests/browser/test_accessibility_browser.py compares with."""

import streamlit as st

st.title("Bare page")
if "clicks" not in st.session_state:
    st.session_state.clicks = 0
if st.button("Click"):
    st.session_state.clicks += 1
st.metric("clicks", st.session_state.clicks)
