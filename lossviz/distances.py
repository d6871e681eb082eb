"""Public path of :mod:`lossviz.core.distances` (kept importable: code outside lossviz uses it)."""

from lossviz.core.distances import *  # noqa: F403
