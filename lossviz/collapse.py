"""Public path of :mod:`lossviz.training.collapse` (kept importable: code outside lossviz
uses it)."""

from lossviz.training.collapse import *  # noqa: F403
