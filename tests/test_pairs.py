"""The contrastive pair core (lossviz/core/pair_reading.py) against plain formulas and the
loss module."""

from __future__ import annotations

import math

import pytest
import torch

from lossviz.core.loss_settings import LossSettings, make_distance
from lossviz.core.losses import NonFiniteError, contrastive_loss
from lossviz.core.pair_reading import (
    POINT_NAMES,
    Term,
    active_term,
    descend_pair,
    inverted_snippet_loss,
    loss_along_distance,
    margin_cells,
    read_pair,
)
from lossviz.scenes.presets import CONTRASTIVE_PRESETS
from lossviz.scenes.scene import ContrastiveScene
from lossviz.teaching.formulas import contrastive_latex

BOUNDS = (-4.0, 4.0)


def settings(margin=1.0, p=2.0, eps=1e-6, distance="euclidean", expr="max(abs(a - b))"):
    return LossSettings(margin, p, eps, False, distance, expr)


def plain(x1, x2, similar, margin, p=2.0, eps=1e-6):
    """The loss by hand: torch's distance (eps added to the difference), then the formula."""
    diff = [a - b + eps for a, b in zip(x1, x2, strict=True)]
    d = max(abs(v) for v in diff) if math.isinf(p) else sum(abs(v) ** p for v in diff) ** (1 / p)
    return d, (d**2 if similar else max(margin - d, 0.0) ** 2)


PAIRS = [
    ((0.0, 0.0), (1.0, 0.5)),
    ((-1.0, 2.0), (-0.8, 2.1)),
    ((3.0, -3.0), (-3.0, 3.5)),
    ((0.3, 0.3), (0.2, -0.4)),
]


@pytest.mark.parametrize(("x1", "x2"), PAIRS)
@pytest.mark.parametrize("similar", [True, False])
@pytest.mark.parametrize(("margin", "p"), [(1.0, 2.0), (0.5, 1.0), (2.5, math.inf), (1.5, 3.0)])
def test_read_pair_matches_the_plain_formula_and_contrastive_loss(x1, x2, similar, margin, p):
    reading = read_pair([x1, x2], similar, settings(margin, p=p, distance="minkowski"))
    d, loss = plain(x1, x2, similar, margin, p)
    assert reading.d == pytest.approx(d, abs=1e-12)
    assert reading.loss == pytest.approx(loss, abs=1e-12)
    t1, t2 = torch.tensor([x1], dtype=torch.float64), torch.tensor([x2], dtype=torch.float64)
    assert reading.loss == pytest.approx(contrastive_loss(t1, t2, similar, margin, p).item())
    assert reading.similar is similar and not reading.inverted
    assert reading.term is active_term(d, margin, similar)


def test_active_term_boundaries():
    assert active_term(5.0, 1.0, True) is Term.PULL
    assert active_term(0.99, 1.0, False) is Term.PUSH
    assert active_term(1.0, 1.0, False) is Term.NONE  # loss (m - d)^2 = 0 at d = m
    assert [t.label for t in Term] == ["pull: d²", "push: (m − d)²", "none: loss 0"]


@pytest.mark.parametrize(("x1", "x2"), PAIRS)
def test_gradients_by_hand_with_eps_zero(x1, x2):
    s = settings(margin=2.0, eps=0.0)
    diff = [a - b for a, b in zip(x1, x2, strict=True)]
    d = math.hypot(*diff)
    similar = read_pair([x1, x2], True, s)
    want = [2 * v for v in diff]  # d(d^2)/dx1 = 2 (x1 - x2)
    assert similar.gradients[0] == pytest.approx(want)
    assert similar.gradients[1] == pytest.approx([-w for w in want])
    dissimilar = read_pair([x1, x2], False, s)
    # d/dx1 (m - d)^2 = -2 (m - d) (x1 - x2) / d inside the margin, 0 beyond it
    factor = -2 * max(2.0 - d, 0.0) / d
    assert dissimilar.gradients[0] == pytest.approx([factor * v for v in diff])
    assert dissimilar.gradients[1] == pytest.approx([-factor * v for v in diff])


@pytest.mark.parametrize("label", [True, False])
@pytest.mark.parametrize("distance", ["euclidean", "manhattan", "cosine", "custom"])
def test_inverted_snippet_follows_its_written_formula(label, distance):
    x1 = torch.tensor([[0.2, -0.5], [1.0, 1.0], [0.0, 0.1]], dtype=torch.float64)
    x2 = torch.tensor([[0.4, 0.1], [-2.0, 1.5], [0.0, 0.1]], dtype=torch.float64)
    s = settings(margin=1.2, distance=distance)
    fn = make_distance(s.distance, s.p, s.eps, s.expr)
    snippet = inverted_snippet_loss(x1, x2, label, 1.2, reduction="none", distance_function=fn)
    # The snippet as written: (1 - label) * d**2 + label * relu(margin - d)**2, per pair.
    y = float(label)
    swapped = torch.tensor(
        [(1 - y) * d**2 + y * max(1.2 - d, 0.0) ** 2 for d in fn(x1, x2).tolist()],
        dtype=torch.float64,
    )
    torch.testing.assert_close(snippet, swapped)
    flipped = contrastive_loss(x1, x2, not label, 1.2, reduction="none", distance_function=fn)
    torch.testing.assert_close(snippet, flipped)
    mean = inverted_snippet_loss(x1, x2, label, 1.2, distance_function=fn)
    total = inverted_snippet_loss(x1, x2, label, 1.2, reduction="sum", distance_function=fn)
    assert mean.item() == pytest.approx(swapped.mean().item())
    assert total.item() == pytest.approx(swapped.sum().item())
    with pytest.raises(ValueError, match="reduction"):
        inverted_snippet_loss(x1, x2, label, reduction="max")


@pytest.mark.parametrize("similar", [True, False])
def test_read_pair_inverted_reads_the_snippet(similar):
    points = [(0.0, 0.0), (0.6, 0.3)]
    s = settings()
    snippet = read_pair(points, similar, s, inverted=True)
    other = read_pair(points, not similar, s)
    assert snippet.loss == pytest.approx(other.loss)
    flat = [g for xy in snippet.gradients for g in xy]
    assert flat == pytest.approx([g for xy in other.gradients for g in xy])
    assert snippet.term is other.term and snippet.inverted and snippet.similar is similar


def test_inverted_snippet_pulls_a_dissimilar_pair_together_and_pushes_a_similar_one_apart():
    s = settings()
    dissimilar = descend_pair([(0.0, 0.0), (0.6, 0.3)], False, s, 0.1, 20, BOUNDS, inverted=True)
    similar = descend_pair([(0.0, 0.0), (0.6, 0.3)], True, s, 0.1, 20, BOUNDS, inverted=True)

    def gap(frame):
        return torch.linalg.vector_norm(frame[0] - frame[1]).item()

    assert gap(dissimilar[-1]) < gap(dissimilar[0])
    assert gap(similar[-1]) > gap(similar[0])


def test_loss_along_distance_is_the_two_curves():
    d, similar, dissimilar = loss_along_distance(1.5, hi=4.0, steps=81)
    assert d[0] == 0 and d[-1] == 4.0 and d.shape == (81,)
    torch.testing.assert_close(similar, d.square())
    torch.testing.assert_close(dissimilar, torch.clamp_min(1.5 - d, 0).square())
    d, _, _ = loss_along_distance(0.7)
    assert d[-1].item() == pytest.approx(1.4)
    with pytest.raises(ValueError):
        loss_along_distance(1.0, hi=0.0)


@pytest.mark.parametrize(("similar", "start"), [(True, [(-1, -1), (2, 1)]),
                                                (False, [(0, 0), (0.3, 0.2)])])  # fmt: skip
def test_descend_lowers_the_loss(similar, start):
    s = settings()
    path = descend_pair(start, similar, s, 0.05, 30, BOUNDS)
    assert path.shape == (31, 2, 2) and path.device.type == "cpu"
    assert path[0].tolist() == [list(map(float, xy)) for xy in start]
    first, last = (read_pair(path[i].tolist(), similar, s).loss for i in (0, -1))
    assert last < first
    one = descend_pair(start, similar, s, 0.05, 1, BOUNDS)[1]
    grads = torch.tensor(read_pair(start, similar, s).gradients, dtype=torch.float64)
    torch.testing.assert_close(one, torch.tensor(start, dtype=torch.float64) - 0.05 * grads)


def test_descend_clamps_and_rejects_bad_arguments():
    path = descend_pair([(3.9, 0), (4.0, 0)], False, settings(margin=3), 1.0, 5, BOUNDS)
    assert path.abs().max() <= 4.0
    with pytest.raises(ValueError):
        descend_pair([(0, 0), (1, 1)], True, settings(), 0.0, 1, BOUNDS)
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        read_pair([(0, 0), (1, 1), (2, 2)], True, settings())


def test_a_non_finite_custom_distance_raises_a_clear_error():
    with pytest.raises(NonFiniteError, match="not a finite number"):
        read_pair(
            [(0, 0), (0, 0)], True, settings(eps=0.0, distance="custom", expr="1 / norm(a - b)")
        )


def test_margin_cells_is_the_margin_ball_around_x1():
    cells = margin_cells((0.0, 0.0), settings(margin=2.0), BOUNDS, 8)
    rows = [cells[i * 8 : i * 8 + 8] for i in range(8)]
    # cell centres at ±0.5, ±1.5, ...: inside radius 2 are the middle 4 x 4 minus corners
    assert rows[0] == "00000000" and rows[2] == "00011000" and rows[3] == "00111100"
    assert cells.count("1") == 12


def coords(scene: ContrastiveScene):
    return [(scene.x1x, scene.x1y), (scene.x2x, scene.x2y)]


def preset_reading(name, **changes):
    scene = CONTRASTIVE_PRESETS[name].scene.replace(**changes)
    s = LossSettings(scene.margin, scene.p, scene.eps, False, scene.distance, scene.expr)
    return read_pair(coords(scene), scene.similar, s)


def test_presets_teach_what_they_say():
    pulled = preset_reading("similar_pulled")
    assert pulled.term is Term.PULL and pulled.loss > 1
    scene = CONTRASTIVE_PRESETS["similar_pulled"].scene
    s = LossSettings(scene.margin, scene.p, scene.eps, False, scene.distance, scene.expr)
    path = descend_pair(coords(scene), True, s, scene.lr, 1, BOUNDS)
    assert read_pair(path[-1].tolist(), True, s).d < pulled.d

    inside = preset_reading("dissimilar_inside")
    assert inside.term is Term.PUSH and 0 < inside.d < 1.0 and inside.loss > 0

    beyond = preset_reading("dissimilar_beyond")
    assert beyond.term is Term.NONE and beyond.loss == 0
    assert beyond.gradients == ((0.0, 0.0), (0.0, 0.0))

    coincident = preset_reading("coincident_similar")
    assert coincident.term is Term.PULL and coincident.loss < 1e-10
    assert max(abs(g) for xy in coincident.gradients for g in xy) < 1e-5
    pushed = preset_reading("coincident_similar", similar=False)
    assert pushed.term is Term.PUSH and pushed.loss == pytest.approx(1.0, abs=1e-5)
    gx, gy = pushed.gradients[0]
    assert gx == pytest.approx(gy) and abs(gx) > 1  # along the diagonal, thanks to eps
    assert preset_reading("coincident_similar", similar=False, eps=0.0).gradients[0] == (0.0, 0.0)


def test_presets_are_valid_scenes():
    for preset in CONTRASTIVE_PRESETS.values():
        assert isinstance(preset.scene, ContrastiveScene)
        for name, spec in ContrastiveScene.specs().items():
            assert spec.problem(getattr(preset.scene, name)) is None, (preset.title, name)


def test_formula_substitutes_the_numbers():
    reading = preset_reading("dissimilar_inside", eps=0.0)
    latex = contrastive_latex(reading.d, reading.loss, 1.0, similar=False)
    assert "(y = 0)" in latex and r"0 \cdot 0.671^2 + 1 \cdot \max\bigl(1.000 - 0.671" in latex
    assert latex.endswith(r"&= 0.108\end{aligned}")
    inverted = contrastive_latex(0.5, 0.25, 1.0, similar=False, inverted=True)
    assert r"L_{\text{snippet}} &= (1 - y)\, d^2" in inverted and r"1 \cdot 0.500^2" in inverted
    assert POINT_NAMES == ("X1", "X2")
