"""The app's Custom Components v2 elements: the draggable plane, the loss heatmap, the
training player and the cookies element, each a Python mount over an ES module and a
stylesheet in ``assets/`` (no build step), with the JSON-bytes wire they share.

It may import Streamlit, the figures' colours, the loss core (the plane's outlines and
grids) and the standard library; never a page's module.
"""
