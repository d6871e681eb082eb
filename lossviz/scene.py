"""Public path of :mod:`lossviz.scenes.scene` (kept importable: code outside lossviz uses
it)."""

from lossviz.scenes.scene import *  # noqa: F403
