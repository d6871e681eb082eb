"""lossviz: an interactive way to learn metric-learning losses.

Sub-packages, each with its own rules in its ``__init__`` docstring (imports point down;
``tests/test_layers.py`` checks it): ``core`` (the losses; torch, numpy and the standard
library only), ``batches``, ``training``, ``teaching``, ``scenes``, ``rooms`` (class-quiz
storage), ``figures`` (Plotly) and ``ui`` (the Streamlit layer). The modules directly here
(``device``, ``distances``, ``losses``, ``triplets``, ``expr``, ``collapse``, ``data``,
``scene``) are the public paths of the core's API, kept for code outside lossviz.
"""
