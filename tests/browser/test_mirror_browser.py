"""mirror.js (the numbers the plane shows while a point moves) against the torch core.

Thousands of random scenes, run in chromium (the engine the students use): every
built-in distance (p from 0.5 to infinity, eps, cosine, squared Euclidean, swap),
coincident points, tiny and huge coordinates, points exactly on a border. Values agree
within 1e-6 relative; the kind agrees except within 1e-6 of a border (where rounding
decides); the regions' balls are lossviz.core.outlines'.
"""

from __future__ import annotations

import json
import math
import random

import pytest

from lossviz.core.loss_settings import LossSettings
from lossviz.core.losses import NonFiniteError
from lossviz.core.outlines import margin_outline, triplet_outlines
from lossviz.core.pair_reading import read_pair
from lossviz.core.triplet_reading import read_triplet
from lossviz.ui.components.component import MIRROR_JS
from lossviz.ui.components.plane import preview_metric

REL = 1e-6
DISTANCES = [
    ("euclidean", 2.0),
    ("manhattan", 1.0),
    ("chebyshev", math.inf),
    ("minkowski", 0.5),
    ("minkowski", 1.5),
    ("minkowski", 3.0),
    ("minkowski", 7.0),
    ("minkowski", math.inf),
    ("cosine", 2.0),
    ("squared_euclidean", 2.0),
]


def metric_json(settings: LossSettings) -> dict:
    """The metric the pages send the plane for these settings (as plane_data writes it)."""
    metric = preview_metric(settings.distance, settings.p, settings.eps)
    return {
        "kind": metric.kind,
        "p": "inf" if math.isinf(metric.p) else metric.p,
        "eps": metric.eps,
    }


def _point(rng: random.Random, scale: float) -> list[float]:
    return [rng.uniform(-4, 4) * scale, rng.uniform(-4, 4) * scale]


def scenes(count: int, seed: int = 0) -> list[tuple[LossSettings, list[list[float]]]]:
    """Random triplets, and the hard cases: coincident, tiny, huge, on a border."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        distance, p = DISTANCES[i % len(DISTANCES)]
        eps = rng.choice([0.0, 1e-6, 1e-6, 0.1])
        settings = LossSettings(rng.uniform(0.01, 5.0), p, eps, rng.random() < 0.4, distance, "")
        scale = rng.choice([1.0, 1.0, 1.0, 1e-9, 1e-4, 1e3, 1e6])
        a, pos, n = (_point(rng, scale) for _ in range(3))
        case = i % 12
        if case == 1:
            pos = list(a)  # A = P
        elif case == 2:
            n = list(a)  # A = N
        elif case == 3:
            pos = n = list(a)  # all three at one spot
        elif case == 4:
            n = list(pos)  # N = P: d(a, n) = d(a, p) exactly, on the hard border
        elif case == 5:
            a = [0.0, 0.0]  # the origin: cosine's clamped norm
        out.append((settings, [a, pos, n]))
    return out


def _close(got, want) -> bool:
    if want is None or got is None:
        return got == want
    return math.isclose(got, want, rel_tol=REL, abs_tol=1e-12 + REL * 1e-6)


def _near_border(reading_d_ap: float, d_used: float, margin: float) -> bool:
    delta = d_used - reading_d_ap
    tol = REL * max(1.0, abs(reading_d_ap), abs(d_used))
    return abs(delta) <= tol or abs(delta - margin) <= tol


@pytest.fixture(scope="module")
def mirror(browser):
    """A blank page with mirror.js imported as ``window.mirror``."""
    context = browser.new_context()
    page = context.new_page()
    page.goto("about:blank")
    source = MIRROR_JS.read_text(encoding="utf-8")
    page.evaluate(
        "async (src) => { window.mirror = await import("
        "'data:text/javascript;charset=utf-8,' + encodeURIComponent(src)); }",
        source,
    )
    yield page
    context.close()


def test_triplets_match_the_core(mirror):
    cases = scenes(3000)
    payload = [
        {
            "metric": metric_json(s),
            "loss": {"kind": "triplet", "margin": s.margin, "swap": s.swap},
            "pts": dict(zip("APN", pts, strict=True)),
        }
        for s, pts in cases
    ]
    got = mirror.evaluate(
        """(cases) => cases.map(({metric, loss, pts}) => ({
            reading: mirror.readTriplet(metric, loss, pts),
            balls: mirror.regionBalls(metric, loss, pts),
        }))""",
        json.loads(json.dumps(payload)),
    )
    checked = kinds_checked = non_finite = ties = 0
    for (settings, pts), result in zip(cases, got, strict=True):
        live = result["reading"]
        try:
            core = read_triplet(pts, settings)
        except NonFiniteError:
            non_finite += 1
            assert live["kind"] is None, (settings, pts, live)
            continue
        for field in ("d_ap", "d_an", "d_pn", "d_an_used", "loss"):
            assert _close(live[field], getattr(core, field)), (field, settings, pts, live, core)
        checked += 1
        tie = core.d_an_used == core.d_ap  # N exactly on the hard border: hard in both
        if tie or not _near_border(core.d_ap, core.d_an_used, settings.margin):
            assert live["kind"] == core.kind.label, (settings, pts, live, core)
            kinds_checked += 1
            ties += tie
        outlines = triplet_outlines(pts[0], pts[1], core.d_ap, settings)
        for role in ("semi", "hard"):
            want = [b.to_json() for b in getattr(outlines, role)]
            for js, py in zip(result["balls"][role], want, strict=True):
                assert js["kind"] == py["kind"] and js.get("p") == py.get("p")
                assert all(_close(u, v) for u, v in zip(js["c"], py["c"], strict=True))
                assert _close(js["r"], py["r"]), (role, settings, pts, js, py)
    assert checked > 2500 and kinds_checked > 2000 and ties > 100, (checked, kinds_checked, ties)


def test_pairs_match_the_core(mirror):
    cases = scenes(1500, seed=1)
    payload = [
        {
            "metric": metric_json(s),
            "loss": {
                "kind": "pair",
                "margin": s.margin,
                "similar": i % 2 == 0,
                "inverted": i % 3 == 0,
            },
            "pts": {"X1": pts[0], "X2": pts[2]},
        }
        for i, (s, pts) in enumerate(cases)
    ]
    got = mirror.evaluate(
        """(cases) => cases.map(({metric, loss, pts}) => ({
            reading: mirror.readPair(metric, loss, pts),
            balls: mirror.regionBalls(metric, loss, pts),
        }))""",
        payload,
    )
    checked = 0
    for case, (settings, pts), result in zip(payload, cases, got, strict=True):
        live, loss = result["reading"], case["loss"]
        try:
            core = read_pair([pts[0], pts[2]], loss["similar"], settings, inverted=loss["inverted"])
        except NonFiniteError:
            assert live["term"] is None
            continue
        assert _close(live["d"], core.d) and _close(live["loss"], core.loss), (case, core)
        if abs(core.d - settings.margin) > REL * max(1.0, core.d):
            assert live["term"] == core.term.value, (case, core)
        (want,) = margin_outline(pts[0], settings)
        (js,) = result["balls"]["margin"]
        assert _close(js["r"], want.radius) and all(
            _close(u, v) for u, v in zip(js["c"], want.center, strict=True)
        )
        checked += 1
    assert checked > 1200


def test_a_typed_distance_has_no_live_numbers(mirror):
    result = mirror.evaluate(
        """() => [mirror.readTriplet({kind: "none"}, {kind: "triplet", margin: 1, swap: false},
                   {A: [0, 0], P: [1, 0], N: [2, 0]}),
                 mirror.regionBalls({kind: "none"}, {kind: "triplet", margin: 1}, {})]"""
    )
    assert result == [None, None]
