"""Distances against torch's own functions, plain loops and hand-worked values."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from lossviz.core.distances import (
    DISTANCES,
    cosine_distance,
    distance_matrix,
    lp_distance,
    squared_euclidean_distance,
)
from tests.conftest import DEVICES

P_VALUES = [0.5, 1.0, 1.5, 2.0, 3.0, math.inf]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("p", P_VALUES)
@pytest.mark.parametrize("eps", [0.0, 1e-6, 1e-3])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_lp_distance_is_pairwise_distance(device, p, eps, dtype):
    gen = torch.Generator().manual_seed(0)
    x1 = torch.randn(33, 5, generator=gen, dtype=dtype).to(device)
    x2 = torch.randn(33, 5, generator=gen, dtype=dtype).to(device)
    ours = lp_distance(x1, x2, p, eps)
    ref = F.pairwise_distance(x1, x2, p=p, eps=eps)
    rtol = 1e-6 if dtype == torch.float32 else 1e-12
    assert ours.device == x1.device
    torch.testing.assert_close(ours, ref, rtol=rtol, atol=0)


def test_eps_goes_into_the_difference():
    a, b = torch.tensor([0.0, 0.0]), torch.tensor([3.0, 4.0])
    assert lp_distance(a, b).item() == pytest.approx(4.9999986, abs=1e-7)
    assert lp_distance(b, a).item() == pytest.approx(5.0000014, abs=1e-7)
    # Coincident points are eps * D ** (1/p) apart.
    x = torch.zeros(1, 4, dtype=torch.float64)
    assert lp_distance(x, x, p=2.0).item() == pytest.approx(1e-6 * 4**0.5, rel=1e-12)
    assert lp_distance(x, x, p=1.0).item() == pytest.approx(4e-6, rel=1e-12)


def test_lp_distance_rejects_bad_p():
    x = torch.zeros(2, 2)
    for p in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError, match="p must be > 0"):
            lp_distance(x, x, p)


def test_cosine_distance_matches_torch_and_ignores_length():
    gen = torch.Generator().manual_seed(1)
    x1 = torch.randn(20, 3, generator=gen, dtype=torch.float64)
    x2 = torch.randn(20, 3, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(cosine_distance(x1, x2), 1 - F.cosine_similarity(x1, x2, dim=-1))
    torch.testing.assert_close(cosine_distance(3 * x1, 0.5 * x2), cosine_distance(x1, x2))
    assert cosine_distance(torch.tensor([1.0, 0.0]), torch.tensor([-2.0, 0.0])).item() == 2.0


def test_squared_euclidean():
    a, b = torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 4.0]])
    assert squared_euclidean_distance(a, b, eps=0.0).item() == 25.0


def _loop_matrix(x: torch.Tensor, p: float) -> torch.Tensor:
    n = x.shape[0]
    out = torch.empty(n, n, dtype=x.dtype)
    for i in range(n):
        for j in range(n):
            out[i, j] = lp_distance(x[i], x[j], p, eps=0.0)
    return out


@pytest.mark.parametrize("p", P_VALUES)
def test_distance_matrix_equals_plain_loop(p):
    x = torch.randn(30, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    dist = distance_matrix(x, p)
    torch.testing.assert_close(dist, _loop_matrix(x, p), rtol=1e-12, atol=1e-12)
    assert torch.all(dist.diagonal() == 0)


def test_distance_matrix_is_exact_at_large_norms():
    # The matmul shortcut returns 0.0 here; the true distance is 1e-3.
    x = torch.full((40, 16), 200.0, dtype=torch.float64)
    x[1, 0] += 1e-3
    assert distance_matrix(x)[0, 1].item() == pytest.approx(1e-3, rel=1e-9)
    x32 = x.float()
    exact = (x32[0] - x32[1]).abs().max().item()
    assert distance_matrix(x32)[0, 1].item() == pytest.approx(exact, rel=1e-6)


@pytest.mark.parametrize("p", P_VALUES)
def test_distance_matrix_gradient_finite_at_coincident_points(p):
    x = torch.tensor([[1.0, 2.0], [1.0, 2.0], [0.0, 0.5]], dtype=torch.float64, requires_grad=True)
    distance_matrix(x, p).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_distance_matrix_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        distance_matrix(torch.zeros(3))


@pytest.mark.parametrize("name", sorted(DISTANCES))
@pytest.mark.parametrize("eps", [0.0, 1e-6])
@pytest.mark.parametrize("p", [0.5, 1.0, 2.0, 3.0, math.inf])
def test_no_nan_gradient_at_coincident_points(name, eps, p):
    for point in ([0.0, 0.0], [0.3, -1.2]):
        x1 = torch.tensor([point], requires_grad=True)
        x2 = torch.tensor([point], requires_grad=True)
        d = DISTANCES[name](x1, x2, p=p, eps=eps)
        assert torch.isfinite(d).all()
        d.sum().backward()
        assert torch.isfinite(x1.grad).all() and torch.isfinite(x2.grad).all(), (name, point)


def test_registry_members_agree_with_their_definitions():
    gen = torch.Generator().manual_seed(3)
    a = torch.randn(8, 3, generator=gen, dtype=torch.float64)
    b = torch.randn(8, 3, generator=gen, dtype=torch.float64)
    pd = F.pairwise_distance
    expected = {
        "euclidean": pd(a, b, p=2.0),
        "manhattan": pd(a, b, p=1.0),
        "chebyshev": pd(a, b, p=math.inf),
        "minkowski": pd(a, b, p=3.0),
        "cosine": 1 - F.cosine_similarity(a, b),
        "squared_euclidean": pd(a, b, p=2.0) ** 2,
    }
    assert set(DISTANCES) == set(expected)
    for name, ref in expected.items():
        torch.testing.assert_close(DISTANCES[name](a, b, p=3.0, eps=1e-6), ref, msg=name)
