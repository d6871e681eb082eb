"""Point sets: blobs, bundled data, projection, and the upload reader's every refusal."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lossviz.batches import point_sets as data
from lossviz.batches.point_sets import DataError, make_blobs, project_2d, read_embeddings_csv

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "embeddings.csv"


def test_blobs_are_seeded_labelled_and_on_the_plane():
    first, again, other = (
        make_blobs(4, 5, 0.5, 3),
        make_blobs(4, 5, 0.5, 3),
        make_blobs(4, 5, 0.5, 4),
    )
    assert torch.equal(first.embeddings, again.embeddings)
    assert not torch.equal(first.embeddings, other.embeddings)
    assert first.embeddings.shape == (20, 2) and first.embeddings.dtype == torch.float32
    assert first.labels.tolist() == [c for c in range(4) for _ in range(5)]
    assert len(first.names) == 4
    assert first.embeddings.abs().max() <= data.BLOB_BOUND


def test_blobs_leave_the_global_rng_alone():
    state = torch.random.get_rng_state()
    make_blobs(3, 4, 1.0, 9)
    assert torch.equal(state, torch.random.get_rng_state())


def test_zero_spread_puts_each_class_on_its_centre():
    blobs = make_blobs(3, 4, 0.0, 0)
    for c in range(3):
        assert torch.unique(blobs.embeddings[blobs.labels == c], dim=0).shape[0] == 1


@pytest.mark.parametrize("args", [(1, 5, 0.5, 0), (3, 0, 0.5, 0), (3, 5, -1.0, 0)])
def test_bad_blob_settings_are_refused(args):
    with pytest.raises(DataError):
        make_blobs(*args)


def test_bundled_digits_and_iris():
    digits, iris = data.load_digits_points(), data.load_iris_points()
    assert digits.embeddings.shape == (1797, 64) and len(digits.names) == 10
    assert float(digits.embeddings.min()) >= 0.0 and float(digits.embeddings.max()) <= 1.0
    assert iris.embeddings.shape == (150, 4) and iris.names == ("setosa", "versicolor", "virginica")
    assert torch.bincount(iris.labels).tolist() == [50, 50, 50]


def test_projection_is_the_top_two_principal_components():
    gen = torch.Generator().manual_seed(0)
    # Variance mostly along e0, then e2; e1 and e3 tiny.
    x = torch.randn(200, 4, generator=gen, dtype=torch.float64) * torch.tensor([5.0, 0.1, 2.0, 0.1])
    xy = project_2d(x)
    assert xy.shape == (200, 2) and xy.dtype == torch.float32
    eigenvalues, eigenvectors = torch.linalg.eigh(torch.cov(x.T))
    top = eigenvectors[:, [3, 2]]  # eigh sorts ascending
    expected = (x - x.mean(0)) @ top
    assert torch.allclose(xy.double().abs(), expected.abs(), atol=1e-4)
    assert torch.allclose(xy.double().var(0), eigenvalues[[3, 2]], rtol=1e-4)
    assert torch.equal(project_2d(x), xy)  # deterministic signs


def test_projection_of_low_dimensional_data_is_centred_padding():
    one = torch.tensor([[1.0], [3.0]])
    assert project_2d(one).tolist() == [[-1.0, 0.0], [1.0, 0.0]]


def test_the_example_file_reads():
    with open(EXAMPLE, "rb") as handle:
        points = read_embeddings_csv(handle.read())
    assert points.embeddings.shape == (150, 8)
    assert points.names == ("cat", "dog", "bird", "fish", "frog")


def test_a_good_upload_keeps_order_text_labels_and_values():
    raw = b"x,Label,y\n1,b,2\n3,a,4.5\n\n-1e3,b,0\n"
    points = read_embeddings_csv(raw)
    assert points.names == ("b", "a")
    assert points.labels.tolist() == [0, 1, 0]
    assert points.embeddings.tolist() == [[1.0, 2.0], [3.0, 4.5], [-1000.0, 0.0]]


def test_byte_order_mark_and_crlf_are_fine():
    raw = "\ufefflabel,x\r\na,1\r\na,2\r\nb,3\r\n".encode()
    assert read_embeddings_csv(raw).embeddings.tolist() == [[1.0], [2.0], [3.0]]


def _rows(n: int) -> bytes:
    return ("label,x\n" + "".join(f"{'ab'[i % 2]},{i}\n" for i in range(n))).encode()


# (file, words the message must contain): each names the problem and where it is.
MALFORMED = {
    "empty": (b"", "empty"),
    "blank": (b"\n\n  \n", "empty"),
    "header only": (b"label,x,y\n", "no data rows"),
    "no label column": (b"x,y\n1,2\n3,4\n", "No 'label' column"),
    "two label columns": (b"label,LABEL,x\na,b,1\n", "2 'label' columns"),
    "label column only": (b"label\na\nb\n", "Only the 'label' column"),
    "text cell": (b"label,x,y\na,1,2\nb,3,abc\n", "Line 3, column 'y': 'abc' is not a number"),
    "NaN": (b"label,x\na,1\nb,nan\n", "Line 3, column 'x'"),
    "inf": (b"label,x\na,-inf\nb,1\n", "Line 2, column 'x'"),
    "beyond float32": (b"label,x\na,1e39\nb,1\n", "not a finite number"),
    "one class": (b"label,x\na,1\na,2\na,3\n", "at least two classes"),
    "no positive pair": (b"label,x\na,1\nb,2\nc,3\n", "no positive pair"),
    "ragged row": (b"label,x,y\na,1,2\nb,3\n", "Line 3 has 2 cells"),
    "empty label": (b"label,x\na,1\n ,2\n", "Line 3: the label is empty"),
    "latin-1": ("label,x\ncafé,1\nthé,2\n".encode("latin-1"), "not UTF-8"),
    "binary": (b"label,x\na,1\x00\n", "NUL"),
    "too many rows": (_rows(data.MAX_ROWS + 1), "5,001 data rows"),
    "too many columns": (
        ("label," + ",".join(f"c{i}" for i in range(1025)) + "\na" + ",1" * 1025 + "\n").encode(),
        "1,025 numeric columns",
    ),
    "6 MB": (b"label,x\n" + b"a,1\n" * (6 * 2**20 // 4), "limit is 5 MB"),
}


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_uploads_are_refused_with_a_clear_message(name):
    raw, words = MALFORMED[name]
    with pytest.raises(DataError, match=None) as refusal:
        read_embeddings_csv(raw)
    assert words in str(refusal.value), str(refusal.value)


def test_limits_are_inclusive():
    assert read_embeddings_csv(_rows(data.MAX_ROWS)).labels.shape == (data.MAX_ROWS,)
    wide = "label," + ",".join(f"c{i}" for i in range(1024)) + "\na" + ",1" * 1024 + "\nb"
    assert read_embeddings_csv((wide + ",2" * 1024 + "\na" + ",3" * 1024 + "\n").encode())


def test_labels_stay_text():
    raw = b"label,x\n<b>x</b>,1\n<b>x</b>,2\n<script>,3\n"
    assert read_embeddings_csv(raw).names == ("<b>x</b>", "<script>")
