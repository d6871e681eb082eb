"""Never by colour alone, and colours that stay apart: the kinds', the classes' and the runs'
colours remain distinguishable under simulated protanopia, deuteranopia and tritanopia.

Threshold: every pair of one palette at least ``MIN_DIFFERENCE`` apart in CIEDE2000 after
the simulation (tests/colour_vision.py: Machado et al. 2009 at full severity). 10 reads as
clearly different colours (2.3 is a just noticeable difference); the palettes' closest
pairs, measured: kinds 12.5 (orange and vermillion, deuteranopia), classes 11.5 (Tol's
rose and purple, tritanopia), runs 12.2 (protanopia).
"""

from __future__ import annotations

import itertools

import pytest

from lossviz.core.triplets import Kind
from lossviz.figures import CLASS_COLORS, KIND_COLORS, RUN_COLORS
from tests.colour_vision import MACHADO_2009, ciede2000, hex_rgb, lab, simulate

MIN_DIFFERENCE = 10.0
PALETTES = {
    "kinds": list(KIND_COLORS.values()),
    "classes": list(CLASS_COLORS),
    "runs": list(RUN_COLORS),
}
VISIONS = [None, *MACHADO_2009]


# Sharma, Wu and Dalal (2005), Table 1: pairs 1, 7, 17 and 25 of their test data.
SHARMA = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
]


@pytest.mark.parametrize(("lab1", "lab2", "expected"), SHARMA)
def test_ciede2000_matches_sharmas_test_data(lab1, lab2, expected):
    assert ciede2000(lab1, lab2) == pytest.approx(expected, abs=1e-4)


def test_the_simulation_keeps_greys_and_lab_has_the_known_white_and_black():
    for grey in ("#000000", "#777777", "#ffffff"):
        for deficiency in MACHADO_2009:
            assert simulate(grey, deficiency) == pytest.approx(hex_rgb(grey), abs=2e-3)
    assert lab(hex_rgb("#ffffff")) == pytest.approx([100.0, 0.0, 0.0], abs=1e-3)
    assert lab(hex_rgb("#000000")) == pytest.approx([0.0, 0.0, 0.0], abs=1e-6)


def test_deuteranopia_merges_red_and_green_as_it_should():
    """The simulation does what it claims: pure red and green, far apart for most viewers,
    come close for a deuteranope (a check that the matrices are not the identity)."""
    red, green = "#ff0000", "#00ff00"
    normal = ciede2000(lab(hex_rgb(red)), lab(hex_rgb(green)))
    deutan = ciede2000(lab(simulate(red, "deuteranopia")), lab(simulate(green, "deuteranopia")))
    assert normal > 80 and deutan < normal / 3


@pytest.mark.parametrize("vision", VISIONS, ids=lambda v: v or "typical")
@pytest.mark.parametrize("palette", list(PALETTES))
def test_each_palette_stays_apart(palette, vision):
    colors = PALETTES[palette]
    seen = [hex_rgb(c) if vision is None else simulate(c, vision) for c in colors]
    close = [
        (colors[i], colors[j], round(ciede2000(lab(a), lab(b)), 1))
        for (i, a), (j, b) in itertools.combinations(enumerate(seen), 2)
        if ciede2000(lab(a), lab(b)) < MIN_DIFFERENCE
    ]
    assert not close, close


def test_every_kind_has_a_word():
    """Colour is never the only carrier of a kind: each has a label the pages write."""
    assert [kind.label for kind in Kind] == ["easy", "semi-hard", "hard"]
