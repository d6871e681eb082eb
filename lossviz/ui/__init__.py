"""The Streamlit layer: the only Streamlit code outside ``app.py`` and ``pages/``.

Each page's own state and actions live in a module named after it
(``playground_page.py``, ``class_quiz_page.py`` and ``class_quiz_teacher.py`` ...), imported
by that page only. What several pages show is built once here: the instruments (the
triplet and pair planes, a shared training run, a quiz question), the widgets built from
the scenes' field specs, the state binding (URL <-> session <-> widgets), the presenter's
link parameters and the inert display of outside text. The Custom Components v2 elements
are in :mod:`lossviz.ui.components`. It may import every other subject of lossviz.
"""
