"""The collapse page's scene as training configurations: what a scene trains (one run, or
two side by side), the presets as scenes, and the runs a whole class opens (the default
scene, the presets, the lesson's training steps), which the run registry computes first.
"""

from __future__ import annotations

import functools

from lossviz.scenes.lesson import STEPS as LESSON_STEPS
from lossviz.scenes.scene import CollapseScene
from lossviz.training.collapse import PRESETS, TrainConfig
from lossviz.training.run_registry import (
    RunKey,
)
from lossviz.training.side_by_side import record_interval

EVAL_SIZE = 400


# The scene fields that are TrainConfig fields of the same name and meaning.
TRAINING_FIELDS = ("dataset", "loss", "margin", "lr", "optimizer", "steps", "batch_size",
                   "l2_normalize", "clip_grad", "seed")  # fmt: skip


def configs(scene: CollapseScene) -> list[TrainConfig]:
    """The run(s) a scene describes: ``loss``, and ``compare`` beside it unless "none"."""
    base = TrainConfig(
        **{field: getattr(scene, field) for field in TRAINING_FIELDS},
        record_every=record_interval(scene.steps),
        eval_size=EVAL_SIZE,
    )
    if scene.compare == "none" or scene.compare == scene.loss:
        return [base]
    return [base, base.replace(loss=scene.compare)]


def scene_from_preset(name: str, scene: CollapseScene) -> CollapseScene:
    """``scene`` with every training field from the preset (the collapse one beside the fix)."""
    config = PRESETS[name]
    compare = "batch_hard_fix" if name == "collapse" else "none"
    return scene.replace(compare=compare, **{f: getattr(config, f) for f in TRAINING_FIELDS})


def preset_index(scene: CollapseScene) -> int | None:
    """The preset the scene equals, for the selectbox (None when it matches none)."""
    for index, name in enumerate(PRESETS):
        if scene_from_preset(name, scene) == scene:
            return index
    return None


@functools.cache
def priority_keys() -> tuple[RunKey, ...]:
    """The runs a whole class opens, in the registry's priority lane: the default scene (the
    teacher's link), every preset (as the preset box sets it) and the lesson's training steps.

    The default scene first: :func:`prewarm` queues them in this order.
    """
    base = CollapseScene()
    scenes = [base, *(scene_from_preset(name, base) for name in PRESETS)]
    scenes += [step.scene for step in LESSON_STEPS if step.instrument == "training"]
    return tuple(dict.fromkeys(tuple(configs(scene)) for scene in scenes))
