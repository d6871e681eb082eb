"""Labelled point sets: generated blobs, scikit-learn's bundled digits and iris, uploads.

Every source returns a :class:`LabelledPoints` ``(embeddings, labels, names)``:
``embeddings`` (N, D) float32 on the CPU, ``labels`` (N,) int64 in
``0 .. len(names) - 1``, ``names`` the class names as text. Pure: no
Streamlit, no network (scikit-learn's digits and iris ship inside the wheel).

Upload format (``read_embeddings_csv``): UTF-8 text, comma-separated, a header
row; one column named ``label`` (any case) holding the class as text, every
other column a finite number. See ``examples/embeddings.csv``.
"""

from __future__ import annotations

import csv
import functools
import io
import math
from typing import NamedTuple

import torch
from torch import Tensor

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5_000
# The point sets that ship with scikit-learn (no download): name -> loader, below.
BUNDLED = ("digits", "iris")
MAX_COLUMNS = 1_024
MAX_LABEL_CHARS = 60
LABEL_COLUMN = "label"

# Blobs live on the drag plane, whose axes span [-BLOB_BOUND, BLOB_BOUND].
BLOB_BOUND = 4.0
_BLOB_RADIUS = 2.4


class DataError(ValueError):
    """A data set or upload that cannot be used; the message names the row or column."""


class LabelledPoints(NamedTuple):
    embeddings: Tensor  # (N, D) float32
    labels: Tensor  # (N,) int64
    names: tuple[str, ...]  # class names; names[labels[i]] is point i's class


def make_blobs(
    n_classes: int = 3, per_class: int = 8, spread: float = 0.6, seed: int = 0
) -> LabelledPoints:
    """Seeded 2-D Gaussian blobs, centres evenly on a circle, clamped to the drag plane.

    ``n_classes`` >= 2, ``per_class`` >= 1, ``spread`` >= 0 is each blob's
    standard deviation. Points are ordered class by class. Uses its own
    ``torch.Generator``: the global RNG is untouched.
    """
    if n_classes < 2 or per_class < 1 or not spread >= 0:
        raise DataError("blobs need at least 2 classes, 1 point per class and a spread >= 0")
    generator = torch.Generator().manual_seed(int(seed))
    angles = torch.arange(n_classes, dtype=torch.float64) * (2 * math.pi / n_classes) + math.pi / 2
    centres = _BLOB_RADIUS * torch.stack([angles.cos(), angles.sin()], dim=1)
    noise = torch.randn(n_classes, per_class, 2, generator=generator, dtype=torch.float64)
    points = (centres[:, None, :] + spread * noise).reshape(-1, 2)
    points = points.clamp(-BLOB_BOUND, BLOB_BOUND).to(torch.float32)
    labels = torch.arange(n_classes).repeat_interleave(per_class)
    return LabelledPoints(points, labels, tuple(f"class {i}" for i in range(n_classes)))


@functools.cache
def load_digits_points() -> LabelledPoints:
    """scikit-learn's handwritten digits: 1,797 images of 8x8 as 64-D, pixels scaled to [0, 1].

    The raw pixels run 0..16; dividing by 16 keeps distances near 1..8,
    where margins on the usual scale mean something.
    """
    from sklearn.datasets import load_digits  # ~1 s import: only when asked for

    bunch = load_digits()
    embeddings = torch.as_tensor(bunch.data, dtype=torch.float32) / 16.0
    labels = torch.as_tensor(bunch.target, dtype=torch.int64)
    return LabelledPoints(embeddings, labels, tuple(str(int(n)) for n in bunch.target_names))


@functools.cache
def load_iris_points() -> LabelledPoints:
    """scikit-learn's iris: 150 flowers, 4 measurements in cm, 3 species."""
    from sklearn.datasets import load_iris

    bunch = load_iris()
    embeddings = torch.as_tensor(bunch.data, dtype=torch.float32)
    labels = torch.as_tensor(bunch.target, dtype=torch.int64)
    return LabelledPoints(embeddings, labels, tuple(str(n) for n in bunch.target_names))


def project_2d(embeddings: Tensor) -> Tensor:
    """The first two principal components, (N, D) -> (N, 2) float32, for pictures.

    Computed in float64 by SVD of the centred data; each component's sign is
    fixed (its largest loading positive) so the picture does not flip between
    runs. Data with D <= 2 is returned centred (padded with zeros if D == 1).
    """
    x = embeddings.to(torch.float64)
    x = x - x.mean(dim=0, keepdim=True)
    if x.shape[1] <= 2:
        pad = torch.zeros(x.shape[0], 2 - x.shape[1], dtype=x.dtype)
        return torch.cat([x, pad], dim=1).to(torch.float32)
    _, _, vh = torch.linalg.svd(x, full_matrices=False)
    components = vh[:2]
    biggest = components.abs().argmax(dim=1)
    signs = components.gather(1, biggest[:, None]).sign()
    signs[signs == 0] = 1
    return (x @ (components * signs).T).to(torch.float32)


def read_embeddings_csv(raw: bytes) -> LabelledPoints:
    """Validate and read an uploaded CSV (see the module docstring for the format).

    Raises :class:`DataError` with a message naming the line (the header is
    line 1) or column at fault: too large, not UTF-8, no header, no ``label``
    column, no numeric column, too many rows or columns, a ragged row, an empty
    label, a cell that is not a finite float32 number, or fewer than two classes.
    Classes are numbered in order of first appearance.
    """
    if len(raw) > MAX_UPLOAD_BYTES:
        raise DataError(
            f"The file is {len(raw) / 2**20:.1f} MB; the limit is {MAX_UPLOAD_BYTES // 2**20} MB."
        )
    text = _decode(raw)
    if not text.strip():
        raise DataError("The file is empty: expected a header row and data rows.")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as problem:
        raise DataError(f"The file is not valid CSV: {problem}.") from None
    header = [cell.strip() for cell in rows[0]]
    label_at = _label_column(header)
    value_columns = [i for i in range(len(header)) if i != label_at]
    if not value_columns:
        raise DataError(f"Only the '{header[label_at]}' column: add at least one numeric column.")
    if len(value_columns) > MAX_COLUMNS:
        raise DataError(f"{len(value_columns):,} numeric columns; the limit is {MAX_COLUMNS:,}.")
    numbered = enumerate(rows[1:], start=2)
    body = [(line, row) for line, row in numbered if any(cell.strip() for cell in row)]
    if not body:
        raise DataError("The file has a header but no data rows.")
    if len(body) > MAX_ROWS:
        raise DataError(f"{len(body):,} data rows; the limit is {MAX_ROWS:,}.")

    values: list[list[float]] = []
    label_texts: list[str] = []
    for line, row in body:
        if len(row) != len(header):
            raise DataError(f"Line {line} has {len(row)} cells; the header has {len(header)}.")
        label = row[label_at].strip()
        if not label:
            raise DataError(f"Line {line}: the label is empty.")
        if len(label) > MAX_LABEL_CHARS:
            raise DataError(f"Line {line}: the label is longer than {MAX_LABEL_CHARS} characters.")
        label_texts.append(label)
        values.append([_number(row[i], line, header[i]) for i in value_columns])

    names = tuple(dict.fromkeys(label_texts))
    if len(names) < 2:
        raise DataError(
            f"Every row has the label {names[0]!r}: triplets need at least two classes."
        )
    index = {name: i for i, name in enumerate(names)}
    labels = torch.tensor([index[name] for name in label_texts], dtype=torch.int64)
    if int(torch.bincount(labels).max()) < 2:
        raise DataError("No class has two rows, so there is no positive pair (and no triplet).")
    return LabelledPoints(torch.tensor(values, dtype=torch.float32), labels, names)


def _decode(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as problem:
        line = raw[: problem.start].count(b"\n") + 1
        byte = raw[problem.start]
        raise DataError(
            f"The file is not UTF-8 text: byte 0x{byte:02x} on line {line}. "
            "Save it as UTF-8 (e.g. 'CSV UTF-8' in a spreadsheet)."
        ) from None
    if "\x00" in text:
        raise DataError("The file contains NUL bytes: it looks binary, not CSV text.")
    return text


def _label_column(header: list[str]) -> int:
    matches = [i for i, name in enumerate(header) if name.lower() == LABEL_COLUMN]
    if not matches:
        shown = ", ".join(repr(name[:20]) for name in header[:6])
        more = ", ..." if len(header) > 6 else ""
        raise DataError(
            f"No '{LABEL_COLUMN}' column in the header (found {shown}{more}). The first row "
            f"must name the columns, one of them '{LABEL_COLUMN}'."
        )
    if len(matches) > 1:
        raise DataError(f"The header has {len(matches)} '{LABEL_COLUMN}' columns; keep one.")
    return matches[0]


_FLOAT32_MAX = float(torch.finfo(torch.float32).max)


def _number(cell: str, line: int, column: str) -> float:
    where = f"Line {line}, column '{column[:30]}'"
    text = cell.strip()
    try:
        value = float(text)
    except ValueError:
        shown = text if len(text) <= 20 else text[:17] + "..."
        raise DataError(f"{where}: {shown!r} is not a number.") from None
    if not math.isfinite(value) or abs(value) > _FLOAT32_MAX:
        raise DataError(f"{where}: {text!r} is not a finite number (NaN and inf are not allowed).")
    return value
