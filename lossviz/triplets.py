"""Public path of :mod:`lossviz.core.triplets` (kept importable: code outside lossviz uses it)."""

from lossviz.core.triplets import *  # noqa: F403
