"""Named starting scenes for the pages, each teaching one thing (checked in tests)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from lossviz.scenes.scene import PlaygroundScene


@dataclass(frozen=True)
class Preset:
    title: str
    lesson: str  # one sentence shown when the preset is chosen
    scene: PlaygroundScene


def _triplet(a, p, n, **settings) -> PlaygroundScene:
    (ax, ay), (px, py), (nx, ny) = a, p, n
    return PlaygroundScene(ax=ax, ay=ay, px=px, py=py, nx=nx, ny=ny, **settings)


PLAYGROUND_PRESETS: dict[str, Preset] = {
    "easy": Preset(
        "Easy",
        "N is farther from A than P is, by more than the margin: the loss is 0 and nothing moves.",
        _triplet((0.0, 0.0), (1.0, 0.0), (-2.5, 1.5)),
    ),
    "semi_hard": Preset(
        "Semi-hard",
        "N is farther than P, but inside the margin: a small loss still pushes N out.",
        _triplet((0.0, 0.0), (1.0, 0.5), (-1.5, 0.5)),
    ),
    "hard": Preset(
        "Hard",
        "N is closer to A than P is: the loss is larger than the margin.",
        _triplet((0.0, 0.0), (2.0, 1.0), (0.5, -0.5)),
    ),
    "swap": Preset(
        "Swap changes the answer",
        "N is far from A but close to P; with swap the loss uses d(p, n) and calls it hard. "
        "Turn swap off to see it become semi-hard.",
        _triplet((-2.0, 0.0), (0.0, 0.0), (0.5, 0.5), swap=True),
    ),
    "coincident": Preset(
        "Coincident points and eps",
        "A and P sit on the same spot: with eps = 1e-6 torch still gives their pull a "
        "direction, along (1, 1). Set eps to 0 and P's arrow vanishes; A's arrow is then only "
        "N pushing it away.",
        _triplet((0.0, 0.0), (0.0, 0.0), (0.5, 0.5)),
    ),
    "cosine": Preset(
        "Cosine ignores length",
        "Under cosine distance only the angle counts: N is far away but points the same way "
        "as A, so it is hard; the regions are wedges from the origin.",
        _triplet((1.0, 0.0), (0.8, 0.8), (3.5, 0.1), distance="cosine", margin=0.2),
    ),
}


def _pair(x1, x2, **settings):
    """A ContrastiveScene with X1 and X2 at ``x1`` and ``x2`` (for CONTRASTIVE_PRESETS)."""
    from lossviz.scenes.scene import ContrastiveScene

    (x1x, x1y), (x2x, x2y) = x1, x2
    return ContrastiveScene(x1x=x1x, x1y=x1y, x2x=x2x, x2y=x2y, **settings)


CONTRASTIVE_PRESETS: dict[str, Preset] = {
    "similar_pulled": Preset(
        "Similar pair: pulled together",
        "A similar pair is always pulled: its loss d² is positive at any distance, and each "
        "Step brings X1 and X2 closer.",
        _pair((-1.0, -0.5), (1.0, 1.0), similar=True),
    ),
    "dissimilar_inside": Preset(
        "Dissimilar inside the margin",
        "A dissimilar pair closer than the margin is pushed apart by (m − d)² until d reaches m.",
        _pair((0.0, 0.0), (0.6, 0.3), similar=False),
    ),
    "dissimilar_beyond": Preset(
        "Dissimilar beyond the margin",
        "A dissimilar pair already farther apart than the margin costs nothing: the loss is 0 "
        "and there are no arrows.",
        _pair((-1.5, 0.0), (1.0, 0.5), similar=False),
    ),
    "coincident_similar": Preset(
        "Coincident similar pair",
        "X1 and X2 sit on the same spot: a similar pair has nothing left to pull (loss 0); "
        "mark it dissimilar and eps = 1e-6 gives torch a direction to push them apart.",
        _pair((0.5, 0.5), (0.5, 0.5), similar=True),
    ),
}


def _on_circle(anchor: float, positive: float, negatives: tuple[float, ...], radius=1.0,
               **settings):  # fmt: skip
    """An InfoNCEScene with A, P and N1 ... Nk at these angles (degrees) on the circle of
    ``radius`` (for INFONCE_PRESETS); the negatives it does not name keep their defaults."""
    from lossviz.scenes.scene import InfoNCEScene

    def at(name: str, degrees: float) -> dict[str, float]:
        angle = math.radians(degrees)
        x, y = round(radius * math.cos(angle), 6), round(radius * math.sin(angle), 6)
        return {f"{name}x": x + 0.0, f"{name}y": y + 0.0}  # + 0.0: never -0.0 in a link

    fields = {**at("a", anchor), **at("p", positive)}
    for i, degrees in enumerate(negatives, start=1):
        fields |= at(f"n{i}", degrees)
    return InfoNCEScene(negatives=len(negatives), **fields, **settings)


INFONCE_PRESETS: dict[str, Preset] = {
    "easy": Preset(
        "An easy batch",
        "P sits next to A and every negative is far round the circle: the positive takes "
        "nearly all the softmax and the loss is close to its lowest possible value.",
        _on_circle(0.0, 12.0, (110.0, 170.0, 230.0, 290.0), tau=0.1),
    ),
    "hard_negative": Preset(
        "One hard negative",
        "N1 is closer to A than P is: it takes most of the negatives' weight, so it gets "
        "most of the push, and A is pulled towards P and away from N1 hardest.",
        _on_circle(0.0, 40.0, (-15.0, 130.0, 200.0, 260.0), tau=0.1),
    ),
    "tau_small": Preset(
        "τ too small: one negative takes it all",
        "At τ = 0.02 the softmax is almost a max: N1, only a little closer to A than N2, "
        "takes nearly all the weight; the other negatives get no gradient at all.",
        _on_circle(0.0, 40.0, (-30.0, -35.0, 150.0, 210.0), tau=0.02),
    ),
    "tau_large": Preset(
        "τ too large: every negative weighs the same",
        "At τ = 2 the softmax is almost flat: near or far, each negative gets about the same "
        "weight, and the loss hardly tells a good arrangement from a bad one.",
        _on_circle(0.0, 40.0, (-30.0, -35.0, 150.0, 210.0), tau=2.0),
    ),
    "collapsed": Preset(
        "Everything on one spot",
        "Every point sits at the same place: every similarity is 1, each of the k + 1 "
        "candidates gets weight 1/(k + 1) and the loss is log(k + 1), the value a collapsed "
        "encoder sees (log(2N − 1) for a SimCLR batch of N examples: k = 2N − 2).",
        _on_circle(45.0, 45.0, (45.0,) * 6, tau=0.1),
    ),
    "off_circle": Preset(
        "Off the circle, length cheats",
        "Without normalisation the similarity is a raw dot product: P, A and the negatives "
        "pushed out to length 2 make the logits four times larger, and the loss falls without "
        "any change of angle. Turn normalisation on to see the same angles' loss.",
        _on_circle(0.0, 30.0, (130.0, 200.0, 260.0), radius=1.9, normalize=False, tau=0.5),
    ),
}
