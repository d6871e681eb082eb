"""Labelled batches: the point sets (generated blobs, bundled digits and iris, uploaded
CSVs), every triplet of a batch counted and mined (:mod:`~lossviz.batches.analysis`), and
their CSV exports.

It may import the loss core (:mod:`lossviz.core`), torch, numpy, scikit-learn (its bundled
data sets) and the standard library.
"""
