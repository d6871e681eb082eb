"""lossviz: an interactive way to learn metric-learning losses.

The core (every module directly under ``lossviz/`` except ``figures.py``)
depends on torch and the standard library only; ``figures.py`` adds plotly and
``lossviz/ui/`` holds the only Streamlit code outside ``app.py`` and ``pages/``.
"""
