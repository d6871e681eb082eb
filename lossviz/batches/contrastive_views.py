"""A batch of N examples seen twice: the 2N views SimCLR's NT-Xent reads.

Conventions:

- An *example* is a point on the unit sphere S^(dim-1) (the circle for ``dim = 2``, the
  sphere for ``dim = 3``): for ``"blobs"`` a Gaussian draw around one of a few class centres
  (:data:`BLOB_CLASSES` of them, spread :data:`BLOB_SPREAD`), renormalised; for ``"digits"``
  one of scikit-learn's 8x8 digits (64 pixels), centred on the data set's mean pixel vector,
  pushed through a FIXED random projection 64 -> dim (seeded with :data:`PROJECTION_SEED`,
  whatever the batch's seed: a digit always lands at the same spot, like a frozen random
  encoder), then normalised.
- Each example gets two *views*: the example plus Gaussian noise of standard deviation
  ``noise`` in every coordinate, renormalised (``noise = 0``: both views are the example).
- Rows are ordered view 1 of every example, then view 2 of every example: row ``i`` and row
  ``i + N`` are the two views of example ``i`` (its positive pair); ``example[i] = i mod N``.
- Examples are sorted by class (blobs: balanced classes in order; digits: the chosen
  digits sorted by label), so the similarity matrix shows the classes as blocks.
- Deterministic for a seed: one ``torch.Generator``, drawn from in a fixed order (the
  examples, then view 1's noise, then view 2's); the global RNG is untouched. Tensors are
  float64 (views) and int64 (indices), on the CPU.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
from torch import Tensor

from lossviz.batches.point_sets import load_digits_points
from lossviz.core.ranges import SEED, Range

SOURCES = ("blobs", "digits")
DIMS = (2, 3)
EXAMPLES = Range(2, 256, integer=True)
NOISE = Range(0.0, 1.0)
BLOB_CLASSES = 4
BLOB_SPREAD = 0.25  # std of a blob's Gaussian around its centre, before renormalising
PROJECTION_SEED = 0  # the digits' fixed projection 64 -> dim


@dataclass(frozen=True, eq=False)
class ViewBatch:
    """Two views of each of N examples (see the module for the row order)."""

    views: Tensor  # (2N, dim) float64, unit rows: view 1 of examples 0..N-1, then view 2
    example: Tensor  # (2N,) int64: the example each row is a view of (i mod N)
    classes: Tensor  # (2N,) int64: the example's class (blob, or the digit 0..9)
    originals: Tensor  # (N, dim) float64, unit rows: the examples before the views' noise
    class_names: tuple[str, ...]  # class_names[c] names class c
    source: str  # "blobs" or "digits"
    dim: int  # 2 (circle) or 3 (sphere)
    noise: float
    seed: int

    @property
    def n_examples(self) -> int:
        return self.originals.shape[0]

    @property
    def view1(self) -> Tensor:
        """(N, dim): the first view of each example (rows 0..N-1)."""
        return self.views[: self.n_examples]

    @property
    def view2(self) -> Tensor:
        """(N, dim): the second view of each example (rows N..2N-1)."""
        return self.views[self.n_examples :]

    @property
    def partner(self) -> Tensor:
        """(2N,) int64: the row of each row's positive, the other view of its example."""
        n = self.n_examples
        return (torch.arange(2 * n) + n) % (2 * n)


def _unit(z: Tensor) -> Tensor:
    return z / torch.linalg.vector_norm(z, dim=-1, keepdim=True)


def blob_centres(dim: int) -> Tensor:
    """(BLOB_CLASSES, dim) unit centres: a square on the circle, a tetrahedron on the sphere."""
    if dim == 2:
        angles = torch.arange(BLOB_CLASSES, dtype=torch.float64) * (2 * math.pi / BLOB_CLASSES)
        return torch.stack([(angles + math.pi / 2).cos(), (angles + math.pi / 2).sin()], dim=1)
    corners = [[1.0, 1.0, 1.0], [1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]]
    return _unit(torch.tensor(corners, dtype=torch.float64))


@functools.cache
def _projected_digits(dim: int) -> tuple[Tensor, Tensor]:
    """Every digit through the fixed projection, normalised: ((1797, dim), (1797,) labels)."""
    digits = load_digits_points()
    x = digits.embeddings.to(torch.float64)
    x = x - x.mean(dim=0, keepdim=True)
    generator = torch.Generator().manual_seed(PROJECTION_SEED)
    projection = torch.randn(x.shape[1], dim, generator=generator, dtype=torch.float64)
    return _unit(x @ projection), digits.labels


def _check(source: str, examples: int, dim: int, noise: float, seed: int) -> None:
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}; got {source!r}")
    EXAMPLES.check("The number of examples", examples)
    if isinstance(dim, bool) or dim not in DIMS:
        raise ValueError(f"dim must be 2 (the circle) or 3 (the sphere); got {dim!r}")
    NOISE.check("The views' noise", noise)
    SEED.check("The seed", seed)


def make_views(source: str, examples: int, dim: int, noise: float, seed: int) -> ViewBatch:
    """``examples`` (N, 2 to 256) examples from ``source`` on the unit sphere in ``dim``
    dimensions (2 or 3), each seen twice with noise of std ``noise`` (0 to 1), drawn with
    ``seed``. ValueError naming the argument at fault."""
    _check(source, examples, dim, noise, seed)
    generator = torch.Generator().manual_seed(int(seed))
    if source == "blobs":
        k = min(BLOB_CLASSES, examples)
        labels = torch.arange(examples) * k // examples  # balanced, in order: 0 0 1 1 2 ...
        draws = torch.randn(examples, dim, generator=generator, dtype=torch.float64)
        originals = _unit(blob_centres(dim)[labels] + BLOB_SPREAD * draws)
        names = tuple(f"blob {c}" for c in range(k))
    else:
        points, all_labels = _projected_digits(dim)
        chosen = torch.randperm(len(points), generator=generator)[:examples]
        chosen = chosen[torch.argsort(all_labels[chosen] * len(points) + chosen)]
        originals, labels = points[chosen], all_labels[chosen]
        names = tuple(str(c) for c in range(10))
    jitter = torch.randn(2, examples, dim, generator=generator, dtype=torch.float64)
    views = _unit(originals.unsqueeze(0) + float(noise) * jitter).reshape(2 * examples, dim)
    return ViewBatch(
        views=views,
        example=torch.arange(examples).repeat(2),
        classes=labels.repeat(2),
        originals=originals,
        class_names=names,
        source=source,
        dim=dim,
        noise=float(noise),
        seed=int(seed),
    )


__all__ = [
    "BLOB_CLASSES",
    "BLOB_SPREAD",
    "DIMS",
    "EXAMPLES",
    "NOISE",
    "PROJECTION_SEED",
    "SOURCES",
    "ViewBatch",
    "blob_centres",
    "make_views",
]
