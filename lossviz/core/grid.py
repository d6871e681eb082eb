"""The square of the plane as a grid of cells: centres, and kinds as one character a cell.

Grids cover ``[lo, hi]^2`` at cell centres, row-major, with the FIRST ROW AT THE
TOP (y = hi), as an image is drawn.
"""

from __future__ import annotations

import torch
from torch import Tensor

# A cell whose kind is undefined (a typed distance that is NaN there).
UNDEFINED = -1
UNDEFINED_CELL = "x"


def grid_points(bounds: tuple[float, float], resolution: int) -> Tensor:
    """``(resolution**2, 2)`` cell centres of the square, first row at the top (y = hi)."""
    lo, hi = bounds
    step = (hi - lo) / resolution
    centres = lo + step * (torch.arange(resolution, dtype=torch.float64) + 0.5)
    ys, xs = torch.meshgrid(centres.flip(0), centres, indexing="ij")
    return torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)


def kind_cells(kind: Tensor) -> str:
    """A kind grid as text, one character per cell, row-major: the ``Kind`` value's digit,
    or ``UNDEFINED_CELL`` where the kind is ``UNDEFINED``."""
    codes = torch.where(kind >= 0, kind + ord("0"), ord(UNDEFINED_CELL)).to(torch.uint8)
    return codes.flatten().cpu().numpy().tobytes().decode("ascii")
