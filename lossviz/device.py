"""Public path of :mod:`lossviz.core.device` (kept importable: code outside lossviz uses it)."""

from lossviz.core.device import *  # noqa: F403
