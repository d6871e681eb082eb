"""A batch's triplets and counts as CSV text for download (spreadsheet-safe labels)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from torch import Tensor

from lossviz.core.triplets import Kind


def _cell(text: str) -> str:
    """A label made safe for spreadsheets: no leading formula character (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def triplets_csv(rows: dict[str, Tensor], names: Sequence[str], labels: Tensor) -> str:
    """The rows of :meth:`BatchAnalysis.triplet_rows` as CSV text, with class names and kinds."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["anchor", "positive", "negative", "anchor_label", "negative_label",
                     "d_ap", "d_an", "delta", "kind"])  # fmt: skip
    labels = labels.cpu()
    columns = zip(*(rows[k].tolist() for k in ("anchor", "positive", "negative", "d_ap", "d_an",
                                               "delta", "kind")), strict=True)  # fmt: skip
    for a, p, n, d_ap, d_an, delta, kind in columns:
        label_a, label_n = _cell(names[int(labels[a])]), _cell(names[int(labels[n])])
        numbers = (f"{d_ap:.9g}", f"{d_an:.9g}", f"{delta:.9g}")
        writer.writerow([a, p, n, label_a, label_n, *numbers, Kind(kind).label])
    return out.getvalue()


def counts_csv(counts: dict[Kind, int], margin: float, distance: str) -> str:
    """One row per kind: count and share of all valid triplets, with the margin and distance."""
    total = sum(counts.values())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["kind", "count", "share", "margin", "distance"])
    for kind in Kind:
        share = counts[kind] / total if total else 0.0
        writer.writerow([kind.label, counts[kind], f"{share:.6f}", repr(margin), distance])
    return out.getvalue()
