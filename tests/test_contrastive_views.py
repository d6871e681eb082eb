"""Two views of N examples: determinism, shapes, the row order, normalisation, classes, the
digits' fixed projection and the arguments' checks."""

from __future__ import annotations

import math

import pytest
import torch

from lossviz.batches.contrastive_views import (
    BLOB_CLASSES,
    blob_centres,
    make_views,
)
from lossviz.batches.point_sets import load_digits_points


@pytest.mark.parametrize("source", ["blobs", "digits"])
@pytest.mark.parametrize("dim", [2, 3])
def test_shapes_dtypes_row_order_and_unit_rows(source, dim):
    batch = make_views(source, 7, dim, 0.2, seed=3)
    assert batch.views.shape == (14, dim) and batch.views.dtype == torch.float64
    assert batch.originals.shape == (7, dim) and batch.originals.dtype == torch.float64
    assert batch.example.tolist() == [*range(7), *range(7)]  # view 1 of all, then view 2
    assert batch.classes.dtype == torch.int64 and batch.example.dtype == torch.int64
    assert torch.equal(batch.classes[:7], batch.classes[7:])  # both views share the class
    norms = torch.linalg.vector_norm(batch.views, dim=1)
    torch.testing.assert_close(norms, torch.ones(14, dtype=torch.float64))
    torch.testing.assert_close(
        torch.linalg.vector_norm(batch.originals, dim=1), torch.ones(7, dtype=torch.float64)
    )
    assert torch.equal(batch.view1, batch.views[:7]) and torch.equal(batch.view2, batch.views[7:])
    assert batch.partner.tolist() == [*range(7, 14), *range(7)]
    assert (batch.source, batch.dim, batch.seed, batch.noise) == (source, dim, 3, 0.2)
    assert int(batch.classes.max()) < len(batch.class_names)


@pytest.mark.parametrize("source", ["blobs", "digits"])
def test_deterministic_for_a_seed_and_different_for_another(source):
    one, again = make_views(source, 16, 3, 0.3, 11), make_views(source, 16, 3, 0.3, 11)
    assert torch.equal(one.views, again.views) and torch.equal(one.classes, again.classes)
    other = make_views(source, 16, 3, 0.3, 12)
    assert not torch.equal(one.views, other.views)
    state = torch.random.get_rng_state()
    make_views(source, 16, 3, 0.3, 11)
    assert torch.equal(state, torch.random.get_rng_state())  # the global RNG is untouched


@pytest.mark.parametrize("source", ["blobs", "digits"])
def test_the_views_are_the_example_plus_the_noise_renormalised(source):
    clean = make_views(source, 10, 2, 0.0, 5)
    torch.testing.assert_close(clean.view1, clean.originals)
    torch.testing.assert_close(clean.view2, clean.originals)
    noisy = make_views(source, 10, 2, 0.5, 5)
    torch.testing.assert_close(noisy.originals, clean.originals)  # noise moves the views only
    assert not torch.allclose(noisy.view1, noisy.view2)
    # The noise is what the generator draws after the examples, scaled by ``noise``.
    generator = torch.Generator().manual_seed(5)
    if source == "blobs":
        torch.randn(10, 2, generator=generator, dtype=torch.float64)
    else:
        torch.randperm(len(load_digits_points().labels), generator=generator)
    jitter = torch.randn(2, 10, 2, generator=generator, dtype=torch.float64)
    expected = clean.originals + 0.5 * jitter
    expected = expected / expected.norm(dim=-1, keepdim=True)
    torch.testing.assert_close(noisy.view1, expected[0])
    torch.testing.assert_close(noisy.view2, expected[1])


def test_more_noise_moves_the_views_further_apart():
    cosines = []
    for noise in (0.05, 0.3, 1.0):
        batch = make_views("blobs", 200, 3, noise, 0)
        cosines.append(float((batch.view1 * batch.view2).sum(1).mean()))
    assert cosines[0] > cosines[1] > cosines[2]
    assert cosines[0] > 0.99


def test_blobs_sit_around_their_class_centres_in_balanced_classes():
    batch = make_views("blobs", 200, 2, 0.0, 1)
    labels = batch.classes[:200]
    assert torch.bincount(labels).tolist() == [50] * BLOB_CLASSES
    assert labels.tolist() == sorted(labels.tolist())
    centres = blob_centres(2)
    nearest = (batch.originals @ centres.T).argmax(dim=1)
    assert (nearest == labels).float().mean() > 0.95
    assert batch.class_names == tuple(f"blob {c}" for c in range(BLOB_CLASSES))
    # Fewer examples than classes: one class each, numbered from 0.
    two = make_views("blobs", 2, 3, 0.1, 0)
    assert two.classes.tolist() == [0, 1, 0, 1] and len(two.class_names) == 2


def test_blob_centres_are_unit_and_evenly_spread():
    for dim in (2, 3):
        centres = blob_centres(dim)
        assert centres.shape == (BLOB_CLASSES, dim)
        cosines = centres @ centres.T
        torch.testing.assert_close(
            cosines.diagonal(), torch.ones(BLOB_CLASSES, dtype=torch.float64)
        )
        off = cosines[~torch.eye(BLOB_CLASSES, dtype=torch.bool)]
        assert float(off.max()) == pytest.approx(0.0 if dim == 2 else -1 / 3, abs=1e-12)


def test_digits_go_through_one_fixed_projection_whatever_the_seed():
    """Every original is a projected digit (the same projection for two seeds), no digit
    twice, its class its digit, sorted by class."""
    digits = load_digits_points()
    points, labels = _all_projected(3)
    a, b = make_views("digits", 30, 3, 0.0, 1), make_views("digits", 30, 3, 0.0, 2)
    for batch in (a, b):
        distances = torch.cdist(batch.originals, points)
        assert float(distances.min(dim=1).values.max()) < 1e-6  # each is a projected digit
        rows = distances.argmin(dim=1)
        assert torch.equal(labels[rows], batch.classes[:30])
        assert len(set(rows.tolist())) == 30  # no digit twice
        assert batch.classes[:30].tolist() == sorted(batch.classes[:30].tolist())
    assert not torch.equal(a.originals, b.originals)
    assert a.class_names == tuple(str(d) for d in range(10))
    assert len(digits.labels) == 1797


def _all_projected(dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every digit through the projection as the module documents it (seed 0, centred)."""
    digits = load_digits_points()
    x = digits.embeddings.to(torch.float64)
    x = x - x.mean(dim=0, keepdim=True)
    w = torch.randn(64, dim, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = x @ w
    return y / y.norm(dim=1, keepdim=True), digits.labels


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"source": "iris"}, "source"),
        ({"examples": 1}, "number of examples"),
        ({"examples": 257}, "number of examples"),
        ({"examples": 4.0}, "number of examples"),
        ({"examples": True}, "number of examples"),
        ({"dim": 4}, "dim"),
        ({"dim": True}, "dim"),
        ({"noise": -0.1}, "noise"),
        ({"noise": math.nan}, "noise"),
        ({"noise": 1.5}, "noise"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**31}, "seed"),
    ],
)
def test_bad_arguments_say_which(kwargs, match):
    arguments = {"source": "blobs", "examples": 8, "dim": 2, "noise": 0.1, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        make_views(**arguments)


def test_the_largest_batch():
    batch = make_views("digits", 256, 3, 1.0, 2**31 - 1)
    assert batch.views.shape == (512, 3) and torch.isfinite(batch.views).all()
