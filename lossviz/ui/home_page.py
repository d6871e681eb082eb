"""The home page's one control, bound to the address like every page's."""

from __future__ import annotations

from lossviz.scenes.scene import HomeScene
from lossviz.ui.state import SceneBinding

BINDING = SceneBinding(HomeScene, "home", ("margin",))
