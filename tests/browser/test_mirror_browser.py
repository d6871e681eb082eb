"""mirror.js (the numbers the plane shows while a point moves) against the torch core.

Thousands of random scenes, run in chromium (the engine the students use): every
built-in distance (p from 0.5 to infinity, eps, cosine, squared Euclidean, swap),
coincident points, tiny and huge coordinates, points exactly on a border. Values agree
within 1e-6 relative; the kind agrees except within 1e-6 of a border (where rounding
decides); the regions' balls are lossviz.core.outlines'.

InfoNCE (``readInfoNCE``) against ``lossviz.core.circle_reading.read_circle``: k from 1 to
16 negatives, temperatures log-uniform from 0.01 to 2, on and off the circle, near-identical
points at tau = 0.01 (where a formula without the log-sum-exp form overflows), points at
the origin. Values agree within 1e-9 relative (absolute: a few ulps of the terms a value
is the difference of).
"""

from __future__ import annotations

import json
import math
import random

import pytest

from lossviz.core.circle_reading import MAX_NEGATIVES, point_names, read_circle
from lossviz.core.loss_settings import LossSettings
from lossviz.core.losses import NonFiniteError
from lossviz.core.outlines import margin_outline, triplet_outlines
from lossviz.core.pair_reading import read_pair
from lossviz.core.softmax_contrastive import DegenerateError
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


# --------------------------------------------------------------------------- InfoNCE

INFO_REL = 1e-9
ULP = 2.0**-52


def infonce_scenes(count: int, seed: int = 2) -> list[tuple[float, bool, dict[str, list[float]]]]:
    """(tau, on_circle, points): random scenes, and the hard cases in turn: near-identical
    points at tau = 0.01, a point at the origin, the anchor on its positive, every point
    on one spot, a negative on the anchor's far side."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        k = rng.randint(1, MAX_NEGATIVES)
        tau = math.exp(rng.uniform(math.log(0.01), math.log(2.0)))
        on_circle = (i // 8) % 2 == 0  # each case below on and off the circle in turn
        names = point_names(k)
        angle = rng.uniform(-math.pi, math.pi)
        case = i % 8
        if case == 1:  # near-identical points, the coldest temperature
            tau = 0.01
            radius = 1.0 if on_circle else rng.uniform(2.7, 2.8)  # logits > 709: exp() = inf
            pts = {}
            for n in names:
                t = angle + rng.uniform(-1e-7, 1e-7)
                pts[n] = [radius * math.cos(t), radius * math.sin(t)]
        else:
            pts = {n: [rng.uniform(-2, 2), rng.uniform(-2, 2)] for n in names}
            if on_circle and rng.random() < 0.5:  # where the plane keeps them: on the circle
                for n, (x, y) in pts.items():
                    r = math.hypot(x, y)
                    pts[n] = [x / r, y / r]
        if case == 2:
            pts[rng.choice(names)] = [0.0, 0.0]  # no direction (off the circle: a dot of 0)
        elif case == 3:
            pts["P"] = list(pts["A"])
        elif case == 4:
            pts = dict.fromkeys(names, list(pts["A"]))
        elif case == 5:
            pts[names[-1]] = [-pts["A"][0], -pts["A"][1]]
        out.append((tau, on_circle, pts))
    return out


def _info_close(got, want, scale: float) -> bool:
    """Within INFO_REL, or a few ulps of ``scale`` (what a difference of terms that large
    can lose to rounding: the loss near 0 at tau = 0.01, the uniformity near 0)."""
    return got is not None and math.isclose(got, want, rel_tol=INFO_REL, abs_tol=8 * ULP * scale)


def test_infonce_matches_the_core(mirror):
    cases = infonce_scenes(400)
    payload = [
        {"loss": {"kind": "infonce", "temperature": tau, "on_circle": on}, "pts": pts}
        for tau, on, pts in cases
    ]
    got = mirror.evaluate(
        "(cases) => cases.map(({loss, pts}) => mirror.readInfoNCE(loss, pts))", payload
    )
    checked = cold = undefined = 0
    for (tau, on_circle, pts), live in zip(cases, got, strict=True):
        names = list(pts)
        assert live["names"] == names[1:]
        k = len(names) - 2
        bound = math.log1p(k * math.exp(-2 / tau)) if on_circle else None
        if on_circle:
            assert math.isclose(live["bound"], bound, rel_tol=INFO_REL), (tau, k, live)
        else:
            assert live["bound"] is None
        try:
            core = read_circle({n: tuple(p) for n, p in pts.items()}, tau, on_circle)
        except DegenerateError:
            undefined += 1  # a point at the origin, on the circle: undefined, never NaN
            assert on_circle and live["loss"] is None and live["weights"] is None, live
            assert live["hardest"] == "" and live["share"] is None and live["uniformity"] is None
            continue
        logits = max(abs(s) for s in core.similarities) / tau
        assert _info_close(live["loss"], core.loss, 1 + logits), (tau, pts, live, core)
        assert math.isclose(live["bound"] or 0, core.lower_bound if on_circle else 0)
        for js, py in zip(live["weights"], core.weights, strict=True):
            assert math.isclose(js, py, rel_tol=INFO_REL, abs_tol=1e-300), (tau, pts, js, py)
        for js, py in zip(live["similarities"], core.similarities, strict=True):
            assert _info_close(js, py, 1 + abs(py))
        hardest = int(live["hardest"].removeprefix("N"))
        # The same negative, or one whose weight ties the core's hardest to rounding.
        assert hardest == core.hardest or math.isclose(
            core.weights[hardest], core.weights[core.hardest], rel_tol=INFO_REL
        ), (live, core)
        assert math.isclose(live["share"], core.weights[core.hardest], rel_tol=INFO_REL)
        spread = max(math.hypot(*p) for p in pts.values()) if not on_circle else 1.0
        assert _info_close(live["alignment"], core.alignment, 4 * spread**2), (pts, live, core)
        assert _info_close(live["uniformity"], core.uniformity, 1 + 8 * spread**2), (live, core)
        checked += 1
        cold += tau == 0.01
    assert checked >= 300 and cold >= 40 and undefined >= 20, (checked, cold, undefined)


def test_infonce_at_the_coldest_temperature_stays_finite(mirror):
    """tau = 0.01 with logits of 100 (on the circle) and 800 (off it, |x| = 2 * sqrt 2):
    exp() of them overflows; the log-sum-exp form does not."""
    pts = {"A": [2.0, 2.0], "P": [2.0, 2.0], "N1": [2.0, 2.0 - 1e-9], "N2": [-2.0, -2.0]}
    for on_circle in (True, False):
        live = mirror.evaluate(
            "(pts) => mirror.readInfoNCE({kind: 'infonce', temperature: 0.01, on_circle: "
            + ("true" if on_circle else "false")
            + "}, pts)",
            pts,
        )
        core = read_circle({n: tuple(p) for n, p in pts.items()}, 0.01, on_circle)
        assert live["loss"] is not None and math.isfinite(live["loss"]), live
        assert live["loss"] == pytest.approx(core.loss, rel=1e-9)
        assert live["loss"] == pytest.approx(math.log(2), rel=1e-6)  # P and N1 tie: log 2
        assert sum(live["weights"]) == pytest.approx(1, rel=1e-12)
