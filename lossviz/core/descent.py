"""Gradient descent on points in the plane, and how long to draw a gradient's arrow."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor


def gradient_descent(
    start: Tensor, loss_of: Callable[[Tensor], Tensor], lr: float, steps: int,
    bounds: tuple[float, float],
) -> Tensor:  # fmt: skip
    """Plain gradient descent on points: ``(steps + 1, *start.shape)`` positions, CPU.

    Row 0 is ``start``; each step is ``x - lr * dL/dx``, clamped to ``bounds``.
    If the loss or a gradient stops being finite, the path ends at the last
    finite position (repeated to keep the shape).
    """
    if not (lr > 0 and math.isfinite(lr)) or steps < 0:
        raise ValueError("need a finite learning rate > 0 and steps >= 0")
    x = start.detach().clone()
    frames = [x.clone()]
    for _ in range(steps):
        x.requires_grad_()
        loss = loss_of(x)
        (grad,) = torch.autograd.grad(loss, x)
        if not (torch.isfinite(loss) and torch.isfinite(grad).all()):
            break
        x = (x.detach() - lr * grad).clamp(*bounds)
        frames.append(x.clone())
    frames += [frames[-1]] * (steps + 1 - len(frames))
    return torch.stack(frames).cpu()


def arrow_scale(gradients: Sequence[Sequence[float]], span: float) -> float:
    """A factor that draws ``-gradient * factor`` visibly: the longest arrow at most 15% of span.

    1 when the gradients are already short enough (so arrows are true
    gradients whenever possible); smaller otherwise. 1 for zero gradients.
    """
    longest = max((math.hypot(gx, gy) for gx, gy in gradients), default=0.0)
    limit = 0.15 * span
    return 1.0 if longest <= limit else limit / longest
