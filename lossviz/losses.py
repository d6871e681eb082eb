"""Public path of :mod:`lossviz.core.losses` (kept importable: code outside lossviz uses it)."""

from lossviz.core.losses import *  # noqa: F403
