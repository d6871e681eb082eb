"""Distances between points, with torch's conventions and safe gradients.

Shapes: points are rows, ``(..., D)``; a pairwise distance returns ``(...)``
(the last dimension reduced); ``distance_matrix`` maps ``(N, D)`` to
``(N, N)``. Every function computes on the device and dtype of its inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

TORCH_EPS = 1e-6  # torch.pairwise_distance's default eps
COSINE_NORM_FLOOR = 1e-8  # as F.cosine_similarity: norms below this are clamped


def _check_p(p: float) -> None:
    if not (p > 0):  # also rejects NaN
        raise ValueError(f"p must be > 0 (p-norm order); got {p}")


def lp_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = TORCH_EPS) -> Tensor:
    """``||x1 - x2 + eps||_p`` over the last dimension: ``torch.pairwise_distance``.

    eps is added to the *difference* (as torch does), so the result is
    slightly asymmetric and coincident points are ``eps * D**(1/p)`` apart.
    ``p`` may be any value in ``(0, inf]``; p < 1 is not a norm but torch
    accepts it and so do we.
    """
    _check_p(p)
    return torch.pairwise_distance(x1, x2, p=p, eps=eps)


def cosine_distance(x1: Tensor, x2: Tensor) -> Tensor:
    """``1 - cos(x1, x2)`` over the last dimension, in [0, 2].

    Norms are clamped at 1e-8 (as ``F.cosine_similarity``), so a zero vector
    is at distance 1 from everything and gradients stay finite.
    """
    n1 = torch.linalg.vector_norm(x1, dim=-1).clamp_min(COSINE_NORM_FLOOR)
    n2 = torch.linalg.vector_norm(x2, dim=-1).clamp_min(COSINE_NORM_FLOOR)
    cos = (x1 * x2).sum(dim=-1) / (n1 * n2)
    return 1.0 - cos


def squared_euclidean_distance(x1: Tensor, x2: Tensor, eps: float = TORCH_EPS) -> Tensor:
    """``||x1 - x2 + eps||_2 ** 2``; not a metric (no triangle inequality)."""
    return lp_distance(x1, x2, p=2.0, eps=eps).square()


def distance_matrix(x: Tensor, p: float = 2.0) -> Tensor:
    """Exact ``(N, N)`` p-norm distances between the rows of ``x`` (N, D).

    Uses the difference form (never the ``|x|^2 + |y|^2 - 2xy`` matmul
    shortcut, which loses small distances between large vectors), so the
    diagonal is exactly 0 and gradients at coincident points are finite
    (zero). No eps is added.
    """
    _check_p(p)
    if x.dim() != 2:
        raise ValueError(f"distance_matrix expects (N, D) embeddings; got shape {tuple(x.shape)}")
    return torch.cdist(x, x, p=p, compute_mode="donot_use_mm_for_euclid_dist")


DistanceFunction = Callable[..., Tensor]

# Every registered distance takes (x1, x2, *, p, eps) and ignores what it
# does not use, so a page can call any of them with the same controls.
DISTANCES: dict[str, DistanceFunction] = {
    "euclidean": lambda x1, x2, *, p=2.0, eps=TORCH_EPS: lp_distance(x1, x2, 2.0, eps),
    "manhattan": lambda x1, x2, *, p=1.0, eps=TORCH_EPS: lp_distance(x1, x2, 1.0, eps),
    "chebyshev": lambda x1, x2, *, p=math.inf, eps=TORCH_EPS: lp_distance(x1, x2, math.inf, eps),
    "minkowski": lambda x1, x2, *, p=2.0, eps=TORCH_EPS: lp_distance(x1, x2, p, eps),
    "cosine": lambda x1, x2, *, p=2.0, eps=TORCH_EPS: cosine_distance(x1, x2),
    "squared_euclidean": lambda x1, x2, *, p=2.0, eps=TORCH_EPS: squared_euclidean_distance(
        x1, x2, eps
    ),
}

DISTANCE_LABELS: dict[str, str] = {
    "euclidean": "Euclidean (p = 2)",
    "manhattan": "Manhattan (p = 1)",
    "chebyshev": "Chebyshev (p = ∞)",
    "minkowski": "Minkowski (p-norm)",
    "cosine": "Cosine (1 − cos)",
    "squared_euclidean": "Squared Euclidean",
}
