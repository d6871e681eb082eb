"""Teacher tools (lossviz.ui.presenter) headless: hide=, present=, the link for the class."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from streamlit.testing.v1 import AppTest

from lossviz.scenes.scene import CollapseScene, PlaygroundScene
from lossviz.ui import presenter
from lossviz.ui.navigation import HOME
from lossviz.ui.navigation import PAGES as NAV_PAGES
from tests import apptest_helpers
from tests.apptest_helpers import WIDGET_KINDS, ok, widget

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")


def open_page(path: str, query: dict[str, str] | None = None) -> AppTest:
    return apptest_helpers.open_page(str(REPO / path), query)


def labels(at: AppTest) -> set[str]:
    return {element.label for kind in WIDGET_KINDS for element in getattr(at, kind)}


def warnings(at: AppTest) -> str:
    return "\n".join(apptest_helpers.warnings(at))


def class_links(at: AppTest) -> list[str]:
    """The addresses in the page's "Link for the class" popover (st.code blocks), opened:
    the popover draws its content only while open (as a click opens it in a browser)."""
    closed = [c.value for c in at.code if c.value.startswith(("/", "http"))]
    assert closed == [], "a closed popover sends nothing"
    for page in (HOME, *NAV_PAGES):  # open the page's popover (keyed by its page)
        at.session_state[f"presenter.link.{Path(page.path).stem}"] = True
    ok(at.run())
    return [c.value for c in at.code if c.value.startswith(("/", "http"))]


# (page, link query, hide names, labels hidden, a label still shown, scene key, values)
PAGES = [
    ("pages/home.py", {"margin": "1.5"}, "margin", ["Margin m"], None,
     "home.scene", {"margin": 1.5}),
    ("pages/playground.py", {"margin": "0.7", "swap": "1", "p": "3.0"}, "margin,p,swap",
     ["Margin m", "p (Minkowski)", "Swap"], "Distance", "playground.scene",
     {"margin": 0.7, "swap": True, "p": 3.0}),
    ("pages/contrastive.py", {"similar": "0", "margin": "1.5"}, "similar,margin",
     ["Similar pair (same class)", "Margin m"], "Distance", "contrastive.scene",
     {"similar": False, "margin": 1.5}),
    ("pages/mining.py", {"margin": "0.4", "classes": "4"}, "margin,classes",
     ["Margin m", "Classes"], "Points per class", "mining.scene",
     {"margin": 0.4, "classes": 4}),
    ("pages/collapse.py", {"margin": "0.5", "steps": "40"}, "margin,steps",
     ["Margin m", "Steps"], "Learning rate", "collapse.scene", {"margin": 0.5, "steps": 40}),
    ("pages/quiz.py", {"margin": "0.6", "seed": "7"}, "margin,seed",
     ["Margin m", "Teacher's seed"], "Distance", "quiz.scene", {"margin": 0.6, "seed": 7}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "query", "hide", "hidden", "shown", "scene_key", "values"),
    PAGES,
    ids=[p[0] for p in PAGES],
)
def test_hide_hides_the_named_controls_and_keeps_the_links_values(
    path, query, hide, hidden, shown, scene_key, values
):
    plain = open_page(path, query)
    assert set(hidden) <= labels(plain)  # without hide they are there

    at = open_page(path, {**query, "hide": hide})
    assert not set(hidden) & labels(at), labels(at)
    if shown:
        assert shown in labels(at)
    scene = at.session_state[scene_key]
    for field, value in values.items():
        assert getattr(scene, field) == value, field
        assert at.query_params[field] == query[field]  # the link still says it
    assert at.query_params["hide"] == hide
    assert not at.warning


def test_hide_all_hides_every_scene_control():
    at = open_page("pages/playground.py", {"hide": "all", "margin": "0.9"})
    scene_labels = {"Distance", "p (Minkowski)", "Margin m", "eps", "Swap", "Learning rate"}
    assert not scene_labels & labels(at)
    assert at.session_state["playground.scene"].margin == 0.9
    assert [m.value for m in at.metric if m.label == "loss"]  # the page itself still works


def test_presenter_params_survive_a_rerun_after_a_widget_change():
    at = open_page("pages/playground.py", {"hide": "p,swap", "present": "1"})
    widget(at, "Margin m").set_value(1.4)
    ok(at.run())
    assert at.query_params["margin"] == "1.4"
    assert at.query_params["hide"] == "p,swap"
    assert at.query_params["present"] == "1"
    assert "Swap" not in labels(at)


@pytest.mark.parametrize(
    "query",
    [
        {"hide": "nope,margin,???"},
        {"hide": ","},
        {"hide": "x" * 5000},
        {"hide": "margin\x00swap"},
        {"present": "maybe"},
        {"projector": "2"},
        {"present": ""},
    ],
    ids=["unknown", "commas", "long", "control-char", "present-word", "projector-2", "bare"],
)
def test_malformed_presenter_params_give_a_notice_and_nothing_raises(query):
    at = AppTest.from_file(APP, default_timeout=30)
    for key, value in query.items():
        at.query_params[key] = value
    ok(at.run())
    text = warnings(at)
    if query.get("hide", "").strip(","):
        assert text.count("hide:") == 1, text  # at most one notice for every unknown name
    if query.get("present") or query.get("projector"):  # a bare ?present is on
        assert "is not 1 or 0" in text, text
    assert len(text) < 2000
    for path in ("pages/playground.py", "pages/mining.py"):
        ok(open_page(path, query))


def test_only_usable_presenter_params_stay_in_the_address_and_the_class_link():
    """A link's junk is said once and dropped: it does not travel into the class's link."""
    at = AppTest.from_file(APP, default_timeout=30)
    for key, value in {"hide": "margin,![x](http://127.0.0.1:9/x.png),ALL", "present": "maybe",
                       "projector": "1"}.items():  # fmt: skip
        at.query_params[key] = value
    ok(at.run())
    assert "no control is called" in warnings(at) and "is not 1 or 0" in warnings(at)
    assert dict(at.query_params) == {"hide": "margin,all", "projector": "1", "margin": "1.0"}
    ok(at.run())
    assert not at.warning  # said once: the address now holds only what is usable
    (link,) = class_links(at)
    assert link == "/?margin=1.0&hide=margin%2Call&projector=1"


def test_a_known_name_gives_no_notice_even_if_this_page_has_no_such_control():
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["hide"] = "swap,margin"  # home has no swap; the playground has
    ok(at.run())
    assert not at.warning
    assert "Margin m" not in labels(at)


def test_present_turns_on_the_projector_style():
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["present"] = "1"
    ok(at.run())
    styles = [h.proto.body for h in at.get("html")]
    assert any("font-size: 22px" in body for body in styles)
    plain = ok(AppTest.from_file(APP, default_timeout=30).run())
    assert not any("font-size: 22px" in h.proto.body for h in plain.get("html"))


def test_presenter_parsing():
    assert presenter._hide_names(" Margin, p ,,swap ") == ["margin", "p", "swap"]
    assert presenter._fields() >= {"margin", "p", "swap", "similar", "seed", "autostart"}


def test_the_class_link_holds_the_scene_and_the_presenter_params():
    at = open_page("pages/playground.py", {"margin": "0.8", "hide": "p", "present": "1"})
    (link,) = class_links(at)
    parts = urlsplit(link)
    assert parts.path.endswith("/playground")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    scene, notes = PlaygroundScene.parse_query(query)
    assert not notes and scene == at.session_state["playground.scene"]
    assert scene.margin == 0.8
    assert query["hide"] == "p" and query["present"] == "1"
    assert "autostart" not in query


def test_the_collapse_pages_class_link_autostarts():
    at = open_page("pages/collapse.py", {"margin": "0.5"})
    (link,) = class_links(at)
    parts = urlsplit(link)
    assert parts.path.endswith("/collapse")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    scene, notes = CollapseScene.parse_query(query)
    assert not notes and scene.autostart and scene.margin == 0.5


@pytest.mark.parametrize("path", [p[0] for p in PAGES])
def test_every_page_has_a_link_for_the_class(path):
    at = open_page(path)
    assert len(class_links(at)) == 1


def test_presenter_params_follow_the_session_to_another_page():
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["present"] = "1"
    at.query_params["hide"] = "margin"
    ok(at.run())
    ok(at.switch_page("pages/playground.py").run())
    assert at.query_params["present"] == "1" and at.query_params["hide"] == "margin"
    assert "Margin m" not in labels(at)
    assert "margin" in at.query_params  # the page's own scene is written beside them


def test_hide_sidebar_hides_the_whole_sidebar():
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["hide"] = "sidebar"
    ok(at.run())
    assert not at.warning
    assert any('[data-testid="stSidebar"]' in h.proto.body for h in at.get("html"))
    assert presenter.HIDE_SIDEBAR == "sidebar"
