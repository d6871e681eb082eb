"""Tests for lossviz/scenes/scene.py: exact round trips, and a query parser that never raises."""

import dataclasses
import math
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lossviz.scenes.scene import (
    CollapseScene,
    ContrastiveScene,
    FieldSpec,
    HomeScene,
    InfoNCEScene,
    MiningScene,
    PlaygroundScene,
    QuizScene,
    Scene,
)

SCENES = [PlaygroundScene, ContrastiveScene, InfoNCEScene, QuizScene, MiningScene]
BAD = object()  # the oracle's "must be rejected"
MISSING = object()


def valid_values(spec: FieldSpec) -> st.SearchStrategy:
    """Every value the spec allows (texts of allowed characters only)."""
    if spec.kind == "flag":
        return st.booleans()
    if spec.kind == "choice":
        return st.sampled_from(spec.options)
    if spec.kind == "text":
        chars = st.characters(exclude_categories=("Cc", "Cs"))
        return st.text(chars, max_size=spec.max_len)
    if spec.integer:
        return st.integers(spec.lo, spec.hi)
    finite = st.floats(spec.lo, spec.hi)
    return finite | st.just(math.inf) if spec.allow_inf else finite


def scenes(cls: type[Scene]) -> st.SearchStrategy:
    return st.builds(cls, **{name: valid_values(spec) for name, spec in cls.specs().items()})


def oracle(spec: FieldSpec, raw: object) -> object:
    """The value a query string should give, written independently of the parser."""
    if not isinstance(raw, str):
        return BAD
    if spec.kind == "text":
        clean = all(unicodedata.category(c) not in {"Cc", "Cs"} for c in raw)
        return raw if clean and len(raw) <= spec.max_len else BAD
    if spec.kind == "flag":
        return {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False,
                "no": False, "off": False}.get(raw.strip().lower(), BAD)  # fmt: skip
    if spec.kind == "choice" and isinstance(spec.default, str):
        return raw if raw in spec.options else BAD
    try:
        x = int(raw) if spec.integer else float(raw)
    except ValueError:
        return BAD
    if spec.kind == "choice":
        return x if x in spec.options else BAD
    if spec.allow_inf and x == math.inf:
        return x
    return x if spec.lo <= x <= spec.hi else BAD  # NaN and +-inf fail here


def last(raw: object) -> object:
    if isinstance(raw, list):
        return raw[-1] if raw else MISSING
    return raw


def noted_fields(notes: list[str]) -> list[str]:
    return [note.split(":", 1)[0] for note in notes]


@pytest.mark.parametrize("cls", SCENES)
def test_defaults_round_trip_without_notes(cls):
    scene = cls.defaults()
    assert scene == cls()
    assert cls.parse_query(scene.to_query()) == (scene, [])
    assert all(isinstance(v, str) for v in scene.to_query().values())


@pytest.mark.parametrize("cls", SCENES)
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_valid_scenes_round_trip_exactly(cls, data):
    scene = data.draw(scenes(cls))
    query = scene.to_query()
    assert set(query) == set(cls.specs())
    parsed, notes = cls.parse_query(query)
    assert notes == []
    assert parsed == scene
    assert cls.from_query(query) == scene


TRICKY = ["nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e308", "-1e308", "1e400", "-1",
          "0", "-0.0", "", " ", "1.5", "abc", "1", "true", "maybe", "\x00", "\n", "é", "😀",
          "0x10", "1_0", "1e-06", "0.0", "2147483648", "9" * 5000, "x" * 301, "\ud800",
          "max(abs(a - b))", "cosine", "custom", "Euclidean"]  # fmt: skip
FIELD_NAMES = sorted(set(PlaygroundScene.specs()) | set(ContrastiveScene.specs()))
GOOD = sorted(
    {spec.encode(v) for cls in SCENES for spec in cls.specs().values() for v in spec.options}
    | {"0", "1", "2.5", "-3.75", "0.001", "On", " no "}
)
strings = (
    st.sampled_from(TRICKY)
    | st.sampled_from(GOOD)
    | st.text()
    | st.floats().map(repr)
    | st.integers().map(str)
)
values = (
    strings
    | st.lists(strings, max_size=3)
    | st.tuples(strings, strings)
    | st.none()
    | st.integers()
    | st.floats()
    | st.binary(max_size=4)
)
queries = st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=8), values, max_size=15)


@pytest.mark.parametrize("cls", SCENES)
@settings(max_examples=200, deadline=None)
@given(query=queries)
def test_parse_query_never_raises_and_notes_each_bad_field(cls, query):
    scene, notes = cls.parse_query(query)
    noted = noted_fields(notes)
    assert len(noted) == len(set(noted))
    for name, spec in cls.specs().items():
        value = getattr(scene, name)
        assert spec.problem(value) is None, (name, value)
        raw = last(query.get(name, MISSING))
        if isinstance(raw, tuple):
            raw = raw[-1]
        expected = spec.default if raw is MISSING else oracle(spec, raw)
        if expected is BAD:
            assert value == spec.default
            assert name in noted
        else:
            assert value == expected
            assert type(value) is type(expected)
            assert name not in noted
    assert set(noted) <= set(cls.specs())


def test_huge_and_odd_values_never_raise():
    class Weird:
        def __repr__(self):
            raise RuntimeError("no repr")

    query = {"margin": "1" * 1_000_000, "seed": "9" * 100_000, "expr": Weird(), "p": []}
    scene, notes = PlaygroundScene.parse_query(query)
    assert scene == PlaygroundScene()
    assert noted_fields(notes) == ["margin", "expr", "seed"]
    assert all(len(note) < 120 for note in notes)


@pytest.mark.parametrize(
    "query",
    [
        {"margin": "nan"},
        {"margin": "inf"},
        {"margin": "1e308"},
        {"margin": "-1"},
        {"margin": "abc"},
        {"p": "0"},
        {"p": "-inf"},
        {"seed": "1.5"},
        {"seed": "-1"},
        {"swap": "maybe"},
        {"distance": "evil"},
        {"eps": "0.5"},
        {"expr": "x" * 1000},
        {"expr": "a\nb"},
        {"ax": "4.5"},
    ],
)
def test_bad_value_gives_default_and_one_note(query):
    ((name, raw),) = query.items()
    scene, notes = PlaygroundScene.parse_query(query)
    assert scene == PlaygroundScene()
    assert len(notes) == 1
    spec = PlaygroundScene.field_spec(name)
    assert notes[0].startswith(f"{name}: ")
    assert notes[0].endswith(f"; using {spec.encode(spec.default)}")


@pytest.mark.parametrize(
    ("query", "note"),
    [
        ({"margin": "abc"}, "margin: 'abc' is not a number; using 1.0"),
        ({"margin": "nan"}, "margin: 'nan' is not a number; using 1.0"),
        ({"margin": "inf"}, "margin: 'inf' is not finite; using 1.0"),
        ({"margin": "-1"}, "margin: '-1' is outside [0.05, 5.0]; using 1.0"),
        ({"p": "0"}, "p: '0' is outside [0.5, 10.0] (or inf); using 2.0"),
        ({"seed": "1.5"}, "seed: '1.5' is not an integer; using 0"),
        ({"swap": "maybe"}, "swap: 'maybe' is not 0 or 1; using 0"),
        ({"eps": "0.5"}, "eps: '0.5' is not one of 0.0, 1e-06; using 1e-06"),
        ({"expr": "a\tb"}, "expr: 'a\\tb' contains control characters; using max(abs(a - b))"),
        ({"lr": 3}, "lr: a value of type int is not text; using 0.1"),
    ],
)
def test_note_is_readable(query, note):
    assert PlaygroundScene.parse_query(query)[1] == [note]


def test_long_values_are_shortened_in_notes():
    (note,) = PlaygroundScene.parse_query({"expr": "x" * 1000})[1]
    assert note.startswith("expr: 'xxxx") and "is longer than 300 characters" in note
    assert len(note) < 120


def test_good_values_are_read():
    scene, notes = PlaygroundScene.parse_query(
        {"p": "inf", "eps": "0", "seed": "42", "swap": "1", "distance": "cosine", "margin": "0.25"}
    )
    assert notes == []
    assert scene.p == math.inf and scene.eps == 0.0 and scene.seed == 42
    assert scene.swap is True and scene.distance == "cosine" and scene.margin == 0.25
    assert scene.to_query()["p"] == "inf"
    assert scene.to_query()["swap"] == "1" and scene.to_query()["seed"] == "42"


@pytest.mark.parametrize(
    ("raw", "value"), [("1", True), ("On", True), ("0", False), (" no ", False)]
)
def test_flag_words(raw, value):
    assert PlaygroundScene.parse_query({"swap": raw}) == (PlaygroundScene(swap=value), [])


def test_repeated_key_uses_last_value():
    assert PlaygroundScene.from_query({"margin": ["0.5", "0.25"]}).margin == 0.25
    assert PlaygroundScene.parse_query({"margin": []}) == (PlaygroundScene(), [])


@pytest.mark.parametrize("cls", SCENES)
def test_missing_everything_gives_defaults_and_unknown_keys_are_quiet(cls):
    assert cls.parse_query({}) == (cls(), [])
    assert cls.parse_query({"utm_source": "x", "": "", "MARGIN": "9"}) == (cls(), [])


@pytest.mark.parametrize("cls", SCENES)
def test_scenes_are_frozen(cls):
    scene = cls()
    name = next(n for n, spec in cls.specs().items() if spec.kind == "number")
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(scene, name, 2.0)
    assert getattr(scene.replace(**{name: 2.0}), name) == 2.0
    assert getattr(scene, name) == cls.field_spec(name).default


def test_defaults_and_field_specs():
    s = PlaygroundScene()
    assert (s.ax, s.ay, s.px, s.py, s.nx, s.ny) == (0.0, 0.0, 1.0, 0.5, 1.5, -1.0)
    assert (s.margin, s.p, s.eps, s.swap, s.lr, s.seed) == (1.0, 2.0, 1e-6, False, 0.1, 0)
    assert (s.distance, s.expr) == ("euclidean", "max(abs(a - b))")
    c = ContrastiveScene()
    assert (c.x1x, c.x1y, c.x2x, c.x2y, c.similar) == (0.0, 0.0, 1.0, 0.5, True)
    margin = PlaygroundScene.field_spec("margin")
    assert (margin.kind, margin.lo, margin.hi, margin.default) == ("number", 0.05, 5.0, 1.0)
    assert PlaygroundScene.field_spec("p").allow_inf
    assert "custom" in PlaygroundScene.field_spec("distance").options
    assert PlaygroundScene.field_spec("seed").integer
    assert PlaygroundScene.field_spec("expr").max_len == 300
    assert set(ContrastiveScene.specs()) == set(ContrastiveScene().to_query())
    for cls in SCENES:
        for f in dataclasses.fields(cls):
            assert f.default == f.metadata["spec"].default


def test_distance_choices_follow_the_core_registry():
    from lossviz.core.distances import DISTANCES
    from lossviz.scenes.scene import DISTANCE_NAMES

    assert set(DISTANCE_NAMES) == set(DISTANCES) | {"custom"}


ALL_SCENES = [*SCENES, HomeScene, CollapseScene]
DRAGGED = {
    "ax",
    "ay",
    "px",
    "py",
    "nx",
    "ny",
    "x1x",
    "x1y",
    "x2x",
    "x2y",
    *(f"n{i}{c}" for i in range(1, 17) for c in "xy"),
}  # no control
OWN_WORDS = {"seed": {"Seed", "Teacher's seed"}}  # the quiz's seed is the teacher's


def test_every_control_field_has_its_label_and_one_wording():
    """A control's label lives in its spec, and a field is called the same on every page."""
    labels: dict[str, set[str]] = {}
    for cls in ALL_SCENES:
        for name, spec in cls.specs().items():
            assert bool(spec.label) == (name not in DRAGGED), f"{cls.__name__}.{name}"
            if spec.label:
                labels.setdefault(name, set()).add(spec.label)
    for name, found in labels.items():
        assert len(found) == 1 or found == OWN_WORDS.get(name), (name, found)


def test_option_labels_and_a_pages_own_words():
    assert PlaygroundScene.field_spec("p").shown(math.inf) == "∞"
    assert PlaygroundScene.field_spec("p").shown(2.0) == "2"
    assert MiningScene.field_spec("source").shown("iris") == "Iris (4-D)"
    assert MiningScene.field_spec("source").shown("nonsense") == "nonsense"
    assert CollapseScene.field_spec("compare").shown("none") == "nothing"
    triplet, pair = PlaygroundScene.field_spec("margin"), ContrastiveScene.field_spec("margin")
    assert pair.label == triplet.label and pair.help != triplet.help
    assert dataclasses.replace(pair, help=triplet.help) == triplet  # the same field otherwise
    assert list(ContrastiveScene.specs())[:7] == list(PlaygroundScene.specs())[:7]
    narrowed = MiningScene.field_spec("anchor").narrowed(hi=9)
    assert (narrowed.label, narrowed.hi) == ("Anchor (row)", 9)
