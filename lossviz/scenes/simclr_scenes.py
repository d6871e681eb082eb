"""The SimCLR page's scene as training configurations: the run(s) a scene trains, the preset
pairs as scenes, and the runs a whole class opens (the default scene and the presets), which
the run registry computes first.
"""

from __future__ import annotations

import functools

from lossviz.scenes.lesson import STEPS as LESSON_STEPS
from lossviz.scenes.scene import SimCLRScene
from lossviz.training.contrastive_training import PRESETS, Augment, ContrastiveConfig
from lossviz.training.run_registry import RunKey

RECORDS_TARGET = 30  # records per run: a smooth replay without sending too many points

# name -> (run A's preset, run B's preset, what differs between them in one sentence).
PRESET_PAIRS: dict[str, tuple[str, str, str]] = {
    "temperature": (
        "tau_small", "tau_large",
        "Only the temperature differs: 0.05 for A, 1 for B (same encoder, batches and "
        "augmentations).",
    ),
    "dimensional": (
        "collapsing", "not_collapsing",
        "Only the augmentation differs: A shifts each view by up to 3 pixels, B does not "
        "shift (both 32-dimensional, temperature 2).",
    ),
}  # fmt: skip
PRESET_LABELS = {
    "temperature": "Temperature: τ 0.05 vs 1",
    "dimensional": "Dimensional collapse",
}
RUNS = ("a", "b")


def record_every(steps: int) -> int:
    """Steps between records so that a run records about ``RECORDS_TARGET`` of them."""
    return max(1, steps // RECORDS_TARGET)


def run_config(scene: SimCLRScene, run: str) -> ContrastiveConfig:
    """Run ``run`` ("a" or "b") of the scene as a training configuration."""
    field = lambda name: getattr(scene, f"{name}_{run}")  # noqa: E731
    return ContrastiveConfig(
        temperature=field("tau"),
        output_dim=field("dim"),
        projector=field("projector"),
        variance_weight=field("variance"),
        augment=Augment(
            noise_std=field("noise"), dropout=field("dropout"), max_shift=field("shift")
        ),  # fmt: skip
        batch_size=scene.batch_size,
        steps=scene.steps,
        lr=scene.lr,
        seed=scene.seed,
        record_every=record_every(scene.steps),
    )


def configs(scene: SimCLRScene) -> list[ContrastiveConfig]:
    """The run(s) a scene describes: A, and B beside it when ``compare`` is on."""
    return [run_config(scene, run) for run in (RUNS if scene.compare else RUNS[:1])]


def _run_fields(config: ContrastiveConfig, run: str) -> dict[str, object]:
    how = config.augment
    values = {"tau": config.temperature, "dim": config.output_dim, "shift": how.max_shift,
              "noise": how.noise_std, "dropout": how.dropout, "projector": config.projector,
              "variance": config.variance_weight}  # fmt: skip
    return {f"{name}_{run}": value for name, value in values.items()}


def scene_from_preset(name: str, scene: SimCLRScene) -> SimCLRScene:
    """``scene`` with both runs' fields and the shared training fields from the preset pair."""
    config_a, config_b = (PRESETS[preset][0] for preset in PRESET_PAIRS[name][:2])
    return scene.replace(
        compare=True,
        batch_size=config_a.batch_size,
        steps=config_a.steps,
        lr=config_a.lr,
        seed=config_a.seed,
        **_run_fields(config_a, "a"),
        **_run_fields(config_b, "b"),
    )


def preset_of(scene: SimCLRScene) -> str | None:
    """The preset pair the scene equals (autostart aside), or None."""
    for name in PRESET_PAIRS:
        if scene_from_preset(name, scene).replace(autostart=scene.autostart) == scene:
            return name
    return None


def preset_index(scene: SimCLRScene) -> int | None:
    """The preset the scene equals, for the selectbox (None when it matches none)."""
    name = preset_of(scene)
    return None if name is None else list(PRESET_PAIRS).index(name)


@functools.cache
def priority_keys() -> tuple[RunKey, ...]:
    """The runs a whole class opens, in the registry's priority lane: the default scene (the
    teacher's link) first, then every preset pair as the preset box sets it, then the
    lesson's SimCLR steps as they start."""
    base = SimCLRScene()
    scenes = [base, *(scene_from_preset(name, base) for name in PRESET_PAIRS)]
    scenes += [step.scene for step in LESSON_STEPS if step.instrument == "simclr"]
    return tuple(dict.fromkeys(tuple(configs(scene)) for scene in scenes))
