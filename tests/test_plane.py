"""The draggable plane's Python wrapper (lossviz/ui/components/plane.py), headless.

The browser side (drag, keys, animation) is in tests/browser/test_plane_component.py.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import subprocess
from pathlib import Path
from unittest import mock

import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from lossviz.core.circle_reading import read_circle
from lossviz.core.softmax_contrastive import DegenerateError
from lossviz.ui.components import component as component_module
from lossviz.ui.components import plane as plane_module
from lossviz.ui.components.component import ASSETS, MIRROR_JS, asset_component, inline_js
from lossviz.ui.components.infonce_readout import (
    READING_KEYS,
    infonce_reading_json,
    infonce_weights,
)
from lossviz.ui.components.plane import (
    LiveLoss,
    Metric,
    PlaneSpec,
    Regions,
    Trajectory,
    default_lines,
    points_callback,
    points_from_value,
)
from tests.apptest_helpers import component_data

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "tests" / "browser" / "apps" / "plane_app.py"
JS = MIRROR_JS  # the distances plane.js draws with
BOUNDS = (-4.0, 4.0)
NAMES = ["A", "P", "N"]
TRIPLET = {"A": (0.0, 0.0), "P": (1.0, 1.0), "N": (-1.5, 0.5)}


# --------------------------------------------------------------------------- value -> points


def test_points_from_value_reads_floats_and_ignores_seq_and_unknown_names():
    value = {"A": [0.5, -1], "P": [1, 2.25], "N": [-3, 3], "seq": 17, "Z": [9, 9]}
    got = points_from_value(value, NAMES, BOUNDS)
    assert got == {"A": (0.5, -1.0), "P": (1.0, 2.25), "N": (-3.0, 3.0)}
    assert all(isinstance(v, float) for p in got.values() for v in p)


def test_points_from_value_clamps_to_bounds():
    value = {"A": [-10, 10], "P": [4.5, -4.0001], "N": [0, 0]}
    assert points_from_value(value, NAMES, BOUNDS) == {
        "A": (-4.0, 4.0),
        "P": (4.0, -4.0),
        "N": (0.0, 0.0),
    }


@pytest.mark.parametrize(
    "value",
    [
        None,
        "A",
        [[0, 0], [1, 1], [2, 2]],
        {"A": [0, 0], "P": [1, 1]},  # a name missing
        {"A": [0, 0], "P": [1, 1], "N": [math.nan, 0]},
        {"A": [0, 0], "P": [1, 1], "N": [0, math.inf]},
        {"A": [0, 0], "P": [1, 1], "N": [True, 0]},
        {"A": [0, 0], "P": [1, 1], "N": ["1", 0]},
        {"A": [0, 0], "P": [1, 1], "N": [1, 2, 3]},
        {"A": [0, 0], "P": [1, 1], "N": {"x": 1, "y": 2}},
        {"A": [0, 0], "P": [1, 1], "N": None},
    ],
)
def test_points_from_value_rejects_malformed_values(value):
    assert points_from_value(value, NAMES, BOUNDS) is None


def test_the_callback_passes_clamped_points_and_skips_malformed_values(monkeypatch):
    received = []
    callback = points_callback("k", NAMES, BOUNDS, received.append)
    value = {"A": [5, 0], "P": [1, 1], "N": [0, -1], "seq": 3}
    monkeypatch.setattr(plane_module, "_component_value", lambda key: value)
    callback()
    assert received == [{"A": (4.0, 0.0), "P": (1.0, 1.0), "N": (0.0, -1.0)}]
    monkeypatch.setattr(plane_module, "_component_value", lambda key: {"A": [0, 0]})
    callback()
    assert len(received) == 1


# --------------------------------------------------------------------------- options


def test_regions_validation():
    ok = Regions(size=2, cells="0120", palette={"0": "#009E73", "1": "#E69F00", "2": "red"})
    assert ok.opacity == 0.35
    with pytest.raises(ValueError, match="size\\*size"):
        Regions(size=2, cells="012", palette={"0": "#000", "1": "#111", "2": "#222"})
    with pytest.raises(ValueError, match="not in the palette"):
        Regions(size=2, cells="0123", palette={"0": "#000", "1": "#111", "2": "#222"})
    with pytest.raises(ValueError, match="size"):
        Regions(size=0, cells="", palette={"0": "#000"})
    with pytest.raises(ValueError, match="opacity"):
        Regions(size=1, cells="0", palette={"0": "#000"}, opacity=1.5)
    with pytest.raises(ValueError, match="colour"):
        Regions(size=1, cells="0", palette={"0": "red; background: url(x)"})
    with pytest.raises(ValueError, match="single characters"):
        Regions(size=1, cells="0", palette={"00": "#000"})


def test_trajectory_and_metric_validation():
    Trajectory(frames=[{"A": (0.0, 0.0)}], animation_id=1)
    with pytest.raises(ValueError):
        Trajectory(frames=[], animation_id=1)
    with pytest.raises(ValueError):
        Trajectory(frames=[{"A": (math.nan, 0.0)}], animation_id=1)
    with pytest.raises(ValueError):
        Trajectory(frames=[{"A": (0.0, 0.0)}], animation_id=1, frame_ms=0)
    assert Metric("lp", p=math.inf).p == math.inf
    for bad in ({"kind": "dot"}, {"p": 0.0}, {"p": math.nan}, {"eps": -1.0}):
        with pytest.raises(ValueError):
            Metric(**bad)


def test_default_lines():
    assert default_lines(NAMES, Metric()) == [("A", "P"), ("A", "N")]
    assert default_lines(NAMES, Metric(show_pn=True)) == [("A", "P"), ("A", "N"), ("P", "N")]
    assert default_lines(["X1", "X2"], Metric()) == [("X1", "X2")]
    assert default_lines(["X1", "X2", "X3"], None) == [("X1", "X2"), ("X2", "X3")]


def test_the_spec_is_strict_json_and_carries_everything():
    spec = PlaneSpec(
        key="k",
        points={"A": (0.0, 0.0), "P": (9.0, 1.0), "N": (-1.5, 0.5)},
        bounds=BOUNDS,
        regions=Regions(size=1, cells="0", palette={"0": "#009E73"}),
        arrows={"A": (0.5, -0.25), "Q": (1.0, 1.0)},  # unknown names are dropped
        trajectory=Trajectory(frames=[TRIPLET, TRIPLET], animation_id=4),
        metric=Metric("lp", p=math.inf),
        labels={"A": "<b>A</b> anchor"},
        colors={"N": "rgb(10, 20, 30)"},
        caption="Drag a point",
    )
    data = spec.to_json()
    json.dumps(data, allow_nan=False)  # no Infinity / NaN reaches the browser
    assert data["points"]["P"] == [4.0, 1.0]  # clamped for display
    assert data["metric"] == {"kind": "lp", "p": "inf", "eps": 1e-6}
    assert data["lines"] == [["A", "P"], ["A", "N"]]
    assert data["arrows"] == {"A": [0.5, -0.25]}
    assert data["colors"] == {"A": "#0072B2", "P": "#56B4E9", "N": "rgb(10, 20, 30)"}
    assert data["labels"] == {"A": "<b>A</b> anchor"}  # verbatim: the JS writes textContent
    assert data["trajectory"]["id"] == 4 and len(data["trajectory"]["frames"]) == 2
    assert data["regions"]["cells"] == "0" and data["ack"] == 0
    # The bytes the element receives: the same JSON, with the acknowledged seq.
    assert json.loads(spec.payload(ack=7)) == {**data, "ack": 7}


def test_the_spec_without_metric_draws_no_lines_and_validates_once_when_built():
    assert PlaneSpec(key="k", points=TRIPLET, bounds=BOUNDS).to_json()["lines"] == []
    with pytest.raises(ValueError, match="bounds"):
        PlaneSpec(key="k", points=TRIPLET, bounds=(1.0, 1.0))
    with pytest.raises(ValueError, match="finite"):
        PlaneSpec(key="k", points={"A": (math.nan, 0.0)}, bounds=BOUNDS)
    with pytest.raises(ValueError, match="names"):
        PlaneSpec(key="k", points={"<img>": (0.0, 0.0)}, bounds=BOUNDS)
    with pytest.raises(ValueError, match="names"):
        PlaneSpec(key="k", points={"seq": (0.0, 0.0)}, bounds=BOUNDS)  # the value's counter
    with pytest.raises(ValueError, match="colour"):
        PlaneSpec(key="k", points=TRIPLET, bounds=BOUNDS, colors={"A": "url(x)"})
    with pytest.raises(ValueError, match="lines"):
        PlaneSpec(key="k", points=TRIPLET, bounds=BOUNDS, metric=Metric(), lines=[("A", "Z")])
    with pytest.raises(ValueError, match="height_px"):
        PlaneSpec(key="k", points=TRIPLET, bounds=BOUNDS, height_px=50)
    with pytest.raises(dataclasses.FrozenInstanceError):
        PlaneSpec(key="k", points=TRIPLET, bounds=BOUNDS).caption = "changed after validation"


# --------------------------------------------------------------------------- InfoNCE on the circle

CIRCLE = {
    "A": (1.0, 0.0),
    "P": (math.cos(0.5), math.sin(0.5)),
    "N1": (0.0, 1.0),
    "N2": (-1.0, 0.0),
    "N3": (math.cos(-0.4), math.sin(-0.4)),
}


def test_an_infonce_live_loss_carries_its_temperature_and_checks_it():
    live = LiveLoss("infonce", 0.0, {}, temperature=0.05, on_circle=False)
    data = live.to_json()
    assert data["kind"] == "infonce" and data["temperature"] == 0.05
    assert data["on_circle"] is False
    assert LiveLoss("infonce", 0.0, {}).to_json()["on_circle"] is True  # the default
    for tau in (0.01, 2.0, 1):
        assert LiveLoss("infonce", 0.0, {}, temperature=tau).to_json()["temperature"] == tau
    for bad in (0.009, 2.01, 0.0, -0.1, math.nan, math.inf, True, "0.1", None):
        with pytest.raises(ValueError, match="temperature"):
            LiveLoss("infonce", 0.0, {}, temperature=bad)
    # Only InfoNCE reads a temperature; a triplet's is never checked.
    assert LiveLoss("triplet", 1.0, {}, temperature=50.0).to_json()["temperature"] == 50.0
    with pytest.raises(ValueError, match="on_circle"):
        LiveLoss("infonce", 0.0, {}, on_circle="yes")
    with pytest.raises(ValueError, match="kind"):
        LiveLoss("softmax", 0.0, {})


def test_the_circle_and_the_weights_travel_checked():
    weights = {"P": 0.5, "N1": 0.25, "N2": 0.0, "N3": 0.25, "Q": 1.0}  # Q: not a point
    spec = PlaneSpec(key="k", points=CIRCLE, bounds=(-2.0, 2.0), circle=True, weights=weights)
    data = spec.to_json()
    json.dumps(data, allow_nan=False)
    assert data["circle"] is True
    assert data["weights"] == {"P": 0.5, "N1": 0.25, "N2": 0.0, "N3": 0.25}
    plain = PlaneSpec(key="k", points=TRIPLET, bounds=BOUNDS).to_json()
    assert plain["circle"] is False and plain["weights"] is None
    assert PlaneSpec(key="k", points=CIRCLE, bounds=(-1.0, 1.0), circle=True).to_json()["circle"]
    for bounds in ((-0.5, 0.5), (-2.0, 0.99), (-0.99, 3.0)):
        with pytest.raises(ValueError, match="circle"):
            PlaneSpec(key="k", points=CIRCLE, bounds=bounds, circle=True)
    with pytest.raises(ValueError, match="circle"):
        PlaneSpec(key="k", points=CIRCLE, bounds=(-2.0, 2.0), circle=1)
    for bad in (1.01, -0.01, math.nan, math.inf, True, "0.5", None):
        with pytest.raises(ValueError, match="weights"):
            PlaneSpec(key="k", points=CIRCLE, bounds=(-2.0, 2.0), weights={"N1": bad})
    # N1 ... Nk are negatives: N's colour unless told otherwise; other names the fallback.
    colors = PlaneSpec(
        key="k", points={**CIRCLE, "Z": (0.0, 0.0)}, bounds=BOUNDS, colors={"N2": "#123456"}
    ).to_json()["colors"]
    assert colors["N1"] == colors["N3"] == plane_module.DEFAULT_COLORS["N"]
    assert colors["N2"] == "#123456" and colors["Z"] == plane_module.FALLBACK_COLOR


@pytest.mark.parametrize("on_circle", [True, False])
def test_the_infonce_reading_and_weights_come_from_the_core(on_circle):
    reading = read_circle(CIRCLE, 0.2, on_circle=on_circle)
    got = infonce_reading_json(reading)
    assert tuple(got) == READING_KEYS
    assert got["loss"] == reading.loss and got["hardest"] == f"N{reading.hardest}"
    assert got["share"] == max(reading.weights[1:]) == reading.weights[reading.hardest]
    assert got["alignment"] == reading.alignment and got["uniformity"] == reading.uniformity
    assert got["bound"] == (reading.lower_bound if on_circle else None)
    weights = infonce_weights(reading)
    assert list(weights) == ["P", "N1", "N2", "N3"]
    assert list(weights.values()) == list(reading.weights)
    spec = PlaneSpec(
        key="k",
        points=CIRCLE,
        bounds=(-2.0, 2.0),
        circle=on_circle,
        weights=weights,
        live=LiveLoss("infonce", 0.0, {}, temperature=0.2, on_circle=on_circle),
        reading=got,
    )
    data = json.loads(spec.payload())
    assert data["reading"] == got and data["weights"] == weights


def test_an_undefined_infonce_reading_is_all_none():
    with pytest.raises(DegenerateError):
        read_circle({**CIRCLE, "N2": (0.0, 0.0)}, 0.2)  # no direction: no place on the circle
    assert infonce_reading_json(None) == dict.fromkeys(READING_KEYS)
    spec = PlaneSpec(
        key="k", points=CIRCLE, bounds=BOUNDS, reading=infonce_reading_json(None)
    )  # fmt: skip
    assert spec.to_json()["reading"] == dict.fromkeys(READING_KEYS)


def test_the_apps_infonce_mode_describes_the_circle_plane():
    at = AppTest.from_file(str(APP))
    at.query_params["mode"] = "infonce"
    at.query_params["k"] = "6"
    at.query_params["tau"] = "0.05"
    at.run()
    assert not at.exception
    data = _data(at)
    assert data["instance"] == "infonce_plane" and data["circle"] is True
    assert list(data["points"]) == ["A", "P", *(f"N{i}" for i in range(1, 7))]
    assert all(math.isclose(math.hypot(*p), 1.0) for p in data["points"].values())
    assert data["live"]["kind"] == "infonce" and data["live"]["temperature"] == 0.05
    reading = read_circle(data["points"], 0.05)
    assert data["reading"] == infonce_reading_json(reading)
    assert math.isclose(sum(data["weights"].values()), 1.0)


# --------------------------------------------------------------------------- the JS distances


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run plane.js")
def test_js_distances_match_torch():
    cases = [
        ({"kind": "lp", "p": 2.0, "eps": 1e-6}, 2.0),
        ({"kind": "lp", "p": 1.0, "eps": 1e-6}, 1.0),
        ({"kind": "lp", "p": 3.5, "eps": 1e-6}, 3.5),
        ({"kind": "lp", "p": 0.5, "eps": 1e-6}, 0.5),
        ({"kind": "lp", "p": "inf", "eps": 1e-6}, math.inf),
        ({"kind": "squared", "p": 2.0, "eps": 1e-6}, None),
        ({"kind": "cosine", "p": 2.0, "eps": 1e-6}, None),
        ({"kind": "none", "p": 2.0, "eps": 1e-6}, None),
    ]
    pairs = [((0.0, 0.0), (1.0, 1.0)), ((0.3, -1.2), (-2.5, 0.7)), ((0.0, 0.0), (0.0, 0.0))]
    script = (
        f"const src = {json.dumps(JS.read_text(encoding='utf-8'))};"
        "const m = await import('data:text/javascript,' + encodeURIComponent(src));"
        f"const cases = {json.dumps([c for c, _ in cases])};"
        f"const pairs = {json.dumps(pairs)};"
        "console.log(JSON.stringify(cases.map((c) => pairs.map(([a, b]) => m.distance(c, a, b)))));"
    )
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    got = json.loads(out.stdout)
    for (metric, p), row in zip(cases, got, strict=True):
        for (a, b), value in zip(pairs, row, strict=True):
            x1 = torch.tensor([a], dtype=torch.float64)
            x2 = torch.tensor([b], dtype=torch.float64)
            if metric["kind"] == "lp":
                want = torch.pairwise_distance(x1, x2, p=p, eps=1e-6).item()
            elif metric["kind"] == "squared":
                want = torch.pairwise_distance(x1, x2, eps=1e-6).square().item()
            elif metric["kind"] == "cosine":
                want = 1 - torch.nn.functional.cosine_similarity(x1, x2, eps=1e-8).item()
            else:
                assert value is None
                continue
            assert value == pytest.approx(want, rel=1e-9, abs=1e-12), (metric, a, b)


# --------------------------------------------------------------------------- AppTest


def _data(at: AppTest) -> dict:
    (data,) = component_data(at, "lossviz.plane")
    return data


def test_app_mounts_the_plane_with_its_key_and_data():
    at = AppTest.from_file(str(APP)).run()
    assert not at.exception
    (element,) = at.get("bidi_component")
    assert element.proto.component_name == "lossviz.plane"
    assert "plane" in element.proto.id  # the user key is the element's identity
    data = _data(at)
    assert data["instance"] == "plane"
    assert data["points"] == {"A": [0.0, 0.0], "P": [1.0, 1.0], "N": [-1.5, 0.5]}
    assert data["regions"]["size"] == 100 and len(data["regions"]["cells"]) == 100 * 100
    assert data["regions"]["cells"][0] == "0" and data["regions"]["cells"][-1] == "2"
    assert data["arrows"]["N"] == [0.375, -0.125]
    assert data["lines"] == [["A", "P"], ["A", "N"]] and data["trajectory"] is None
    assert "points: A=(0.00, 0.00) P=(1.00, 1.00) N=(-1.50, 0.50)" in at.text[0].value
    # lossviz is installed (editable): the element names its served module instead of
    # carrying ~45 KB of JS in every rerun's delta.
    assert element.proto.js_source_path == "plane.js" and not element.proto.js_content
    assert element.proto.css_source_path == "plane.css"


def test_without_the_manifest_the_sources_go_inline_with_their_imports_resolved():
    source = inline_js(ASSETS / "plane.js")
    assert "./mirror.js" not in source  # the import line is gone...
    assert source.index("export function readTriplet") < source.index("function redraw")
    assert source.count("export function distance(") == 1  # ...mirror.js is in front, once
    mount = asset_component("plane")
    registered = []

    class NoManifest:  # a component manager that has not found lossviz's pyproject.toml
        def get_component_asset_root(self, name):
            return None

    manager = NoManifest()
    with (
        mock.patch.object(component_module, "get_bidi_component_manager", return_value=manager),
        mock.patch.object(
            st.components.v2, "component",
            side_effect=lambda name, **kw: registered.append((name, kw)) or (lambda **k: None),
        ),
    ):  # fmt: skip
        mount(key="x")
        mount(key="y")  # registered once per manager
    ((name, kwargs),) = registered
    assert name == "lossviz.plane" and kwargs["js"] == source
    assert kwargs["css"] == (ASSETS / "plane.css").read_text(encoding="utf-8")


def test_the_apps_own_state_drives_the_data():
    at = AppTest.from_file(str(APP)).run()
    # What the component's callback does after a drag: write the app's own state.
    at.session_state["pts"] = {"A": (0.0, 0.0), "P": (1.0, 1.0), "N": (2.0, -1.0)}
    at.run()
    data = _data(at)
    assert data["points"]["N"] == [2.0, -1.0]
    assert data["arrows"]["N"] == [-0.5, 0.25]
    assert "N=(2.00, -1.00)" in at.text[0].value
    # Reset: back to the defaults, in the data too.
    at.button[0].click().run()
    assert _data(at)["points"]["N"] == [-1.5, 0.5]
    # Animate: a 30-frame trajectory whose last frame is the new points.
    at.button[1].click().run()
    data = _data(at)
    assert data["trajectory"]["id"] == 1 and len(data["trajectory"]["frames"]) == 30
    assert data["trajectory"]["frames"][-1] == data["points"]
    assert not at.exception


def test_an_instruments_plane_is_described_once_per_scene_and_shared():
    """Equal requests (another session, another rerun) get the very same spec, and its JSON
    is serialised once; a moved point is another scene."""
    from lossviz.core.loss_settings import LossSettings
    from lossviz.core.triplet_reading import read_triplet
    from lossviz.ui.instruments.scene_plane import SceneView
    from lossviz.ui.instruments.triplet_plane import LABELS, reading_json, triplet_spec

    settings = LossSettings(1.0, 2.0, 1e-6, False, "euclidean", "")

    def view(points):
        return SceneView.of("k", points, BOUNDS, settings, "caption", 520)

    reading = read_triplet(list(TRIPLET.values()), settings)
    spec, scale = triplet_spec(view(TRIPLET), reading)
    assert triplet_spec(view(dict(TRIPLET)), reading) == (spec, scale)
    assert triplet_spec(view(dict(TRIPLET)), reading)[0] is spec
    data = spec.to_json(ack=3)
    assert json.loads(spec.payload(3)) == data
    assert data["reading"] == json.loads(json.dumps(reading_json(reading)))
    assert data["labels"] == LABELS and data["shapes"]["layers"][0]["role"] == "semi"
    moved = {**TRIPLET, "N": (2.0, 2.0)}
    other = triplet_spec(view(moved), read_triplet(list(moved.values()), settings))[0]
    assert other is not spec and other.to_json()["points"]["N"] == [2.0, 2.0]
