"""The one table of option labels: what each option of a scene field is called on screen.

Keyed by field name (a field means the same on every page that has it: ``distance`` is
a distance everywhere), built from the core's own label registries where they exist.
The widgets (``lossviz.ui.widgets``) take their ``format_func`` from here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from lossviz.core.distances import DISTANCE_LABELS, TORCH_EPS
from lossviz.training.collapse import LOSS_LABELS, OPTIMIZER_LABELS

OPTION_LABELS: dict[str, Mapping[object, str]] = {
    "distance": {**DISTANCE_LABELS, "custom": "Custom expression…"},
    "eps": {0.0: "0", TORCH_EPS: "1e-6 (torch's default)"},
    "p": {math.inf: "∞"},
    "loss": LOSS_LABELS,
    "compare": {**LOSS_LABELS, "none": "nothing"},
    "dataset": {"digits": "Digits (64-D)", "blobs": "Blobs (2-D)"},
    "optimizer": OPTIMIZER_LABELS,
    "source": {
        "blobs": "Generated blobs (2-D)",
        "digits": "Handwritten digits (64-D)",
        "iris": "Iris (4-D)",
        "upload": "Upload a CSV",
    },
    "space": {"raw": "all dimensions", "pca2": "the 2-D picture (PCA)"},
    "difficulty": {"normal": "normal", "boundary": "near the boundary"},
}


def option_label(field: str, option: object) -> str:
    """How ``option`` of ``field`` is shown: its label, else the value itself (``:g`` numbers)."""
    labels = OPTION_LABELS.get(field, {})
    if option in labels:
        return labels[option]
    if isinstance(option, float):
        return f"{option:g}"
    return str(option)


__all__ = ["OPTION_LABELS", "option_label"]
