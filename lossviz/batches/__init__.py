"""Labelled batches: the point sets (generated blobs, bundled digits and iris, uploaded
CSVs), every triplet of a batch counted and mined (:mod:`~lossviz.batches.analysis`), the
triplet diagram's exact density (:mod:`~lossviz.batches.triplet_diagram`), their CSV
exports, and the InfoNCE page's batches of two views per example
(:mod:`~lossviz.batches.contrastive_views`, :mod:`~lossviz.batches.contrastive_batch`).

It may import the loss core (:mod:`lossviz.core`), torch, numpy, scikit-learn (its bundled
data sets) and the standard library.
"""
