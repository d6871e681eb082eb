"""The loss core: distances, the triplet and contrastive losses, the kinds of a triplet,
typed distances, the readings of a triplet or a pair with their gradients, and the exact
geometry of a plane's regions.

Everything numeric the app shows is computed here, with PyTorch on the device of its
inputs. It imports torch, numpy and the standard library only (``tests/test_layers.py``
checks it): no Streamlit, no Plotly, nothing else of lossviz's, so it runs on a machine
with only torch installed (a GPU box) and every other package builds on it.
"""
