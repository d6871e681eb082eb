"""Public path of :mod:`lossviz.batches.point_sets` (kept importable: code outside lossviz
uses it)."""

from lossviz.batches.point_sets import *  # noqa: F403
