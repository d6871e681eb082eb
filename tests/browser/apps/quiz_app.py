"""The quiz page alone behind ``st.navigation`` (until app.py registers it): browser tests."""

from pathlib import Path

import streamlit as st

PAGE = Path(__file__).resolve().parents[3] / "pages" / "quiz.py"

st.set_page_config(layout="wide")
st.navigation([st.Page(str(PAGE))]).run()
