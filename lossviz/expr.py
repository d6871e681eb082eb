"""Public path of :mod:`lossviz.core.expr` (kept importable: code outside lossviz uses it)."""

from lossviz.core.expr import *  # noqa: F403
