"""InfoNCE on the plane: the server's read-out and weights, in the names ``mirror.js`` uses.

A plane with ``LiveLoss(kind="infonce", ...)`` shows, above the plot, what
``mirror.js``'s ``readInfoNCE`` computes while a point moves, and at rest the server's
``reading``: both are dicts with the keys :data:`READING_KEYS`,

- ``loss``: InfoNCE, ``logsumexp([s_AP, s_AN1, ...] / tau) - s_AP / tau``;
- ``bound``: its least value with k negatives on the circle, ``log(1 + k exp(-2 / tau))``;
  None off the circle (raw dot products have no bound: "none off the circle");
- ``hardest``: the name of the negative with the largest weight ("N3");
- ``share``: that negative's softmax weight, in [0, 1] ("N3 takes 71 %");
- ``alignment``: ``||A - P||^2``; ``uniformity``: ``log mean_{i<j} exp(-2 ||x_i - x_j||^2)``
  over every point (both of the normalised points on the circle).

A number that is undefined (a point at the origin has no place on the circle) is None:
the plane shows "undefined". The plane's bars and arrow widths come from ``weights``
(:func:`infonce_weights`); the mirror recomputes them while a point moves.

    reading = read_circle(points, tau, on_circle)
    spec = PlaneSpec(..., circle=on_circle, weights=infonce_weights(reading),
                     live=LiveLoss("infonce", 0.0, {}, temperature=tau, on_circle=on_circle),
                     reading=infonce_reading_json(reading))
"""

from __future__ import annotations

from lossviz.core.circle_reading import CircleReading

READING_KEYS = ("loss", "bound", "hardest", "share", "alignment", "uniformity")


def infonce_reading_json(reading: CircleReading | None) -> dict[str, object]:
    """The read-out of ``reading`` under :data:`READING_KEYS`; every value None when the
    reading is undefined (``None``: ``read_circle`` raised ``DegenerateError``)."""
    if reading is None:
        return dict.fromkeys(READING_KEYS)
    hardest = reading.hardest
    return {
        "loss": reading.loss,
        "bound": reading.lower_bound if reading.on_circle else None,
        "hardest": f"N{hardest}",
        "share": reading.weights[hardest],
        "alignment": reading.alignment,
        "uniformity": reading.uniformity,
    }


def infonce_weights(reading: CircleReading) -> dict[str, float]:
    """Each candidate's softmax weight by name, for ``PlaneSpec.weights``: ``P``, then
    ``N1`` ... ``Nk`` (the anchor has none)."""
    names = ("P", *(f"N{i}" for i in range(1, len(reading.weights))))
    return {
        name: min(max(float(w), 0.0), 1.0) for name, w in zip(names, reading.weights, strict=True)
    }


__all__ = ["READING_KEYS", "infonce_reading_json", "infonce_weights"]
