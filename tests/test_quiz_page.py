"""The quiz page headless (AppTest): a full round, every control, shared seeds, bad links."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lossviz.core.outlines import triplet_outlines
from lossviz.core.triplets import Kind
from lossviz.scenes.scene import QuizScene
from lossviz.teaching.quiz_rounds import explain, make_round
from lossviz.teaching.snippets import triplet_snippet
from tests import apptest_helpers as helpers
from tests.apptest_helpers import component_data, ok

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "quiz.py")
SCENE_KEY = "quiz.scene"
KINDS = (Kind.EASY, Kind.SEMI_HARD, Kind.HARD)


def open_page(query: dict[str, str] | None = None) -> AppTest:
    """With "Copy as code" on (shown only once a question is answered)."""
    return helpers.open_page(PAGE, query, {"quiz.show_code": True})


def scene_of(at: AppTest) -> QuizScene:
    return at.session_state[SCENE_KEY]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def plane_data(at: AppTest) -> dict:
    return component_data(at, "lossviz.plane")[0]


def shown_points(at: AppTest) -> dict[str, list[float]]:
    return plane_data(at)["points"]


def round_of(scene: QuizScene):
    return make_round(scene.seed, scene.difficulty, scene.distance, scene.swap, scene.margin)


def answer(at: AppTest, kind: Kind) -> AppTest:
    return ok(at.button(key=f"quiz.answer.{kind.label}").click().run())


def wrong(kind: Kind) -> Kind:
    return KINDS[(KINDS.index(kind) + 1) % 3]


def test_a_full_round_scores_and_summarises():
    at = open_page()
    assert scene_of(at) == QuizScene()
    questions = round_of(scene_of(at))
    right_pattern = [True, True, False, True, False, False, True, True, True, False]
    expected = [[0, 0, 0] for _ in range(3)]
    for i, (question, right) in enumerate(zip(questions, right_pattern, strict=True)):
        assert metrics(at)["Question"] == f"{i + 1} of 10"
        data = plane_data(at)
        assert data["static"] is True
        assert data["regions"] is None  # hidden until answered
        assert {n: data["points"][n] for n in "APN"} == {
            n: list(p) for n, p in question.named_points.items()
        }
        start, end = data["points"]["m0"], data["points"]["m1"]
        assert start[1] == end[1] and end[0] - start[0] == pytest.approx(1.0)  # margin ruler
        assert data["labels"]["m1"] == "m = 1"
        assert "margin" in data["caption"].lower()
        given = question.kind if right else wrong(question.kind)
        expected[int(question.kind)][int(given)] += 1
        at = answer(at, given)
        data = plane_data(at)
        assert data["regions"] is None  # exact outlines, not cells
        anchor, positive, _ = question.points
        outlines = triplet_outlines(anchor, positive, question.d_ap, question.settings)
        layers = {layer["role"]: layer["balls"] for layer in data["shapes"]["layers"]}
        assert layers == {
            "semi": [b.to_json() for b in outlines.semi],
            "hard": [b.to_json() for b in outlines.hard],
        }
        script = triplet_snippet(question.points, question.settings).strip()
        # only once answered
        assert [code.value.strip() for code in helpers.scripts(at)] == [script]
        assert data["metric"]["kind"] == "none"  # the distances are in the metrics beside
        if right:
            assert any(question.kind.label in s.value for s in at.success)
            assert not at.error
        else:
            assert any(f"the answer is **{question.kind.label}**" in e.value for e in at.error)
        assert metrics(at)["d(a, p)"] == f"{question.d_ap:.3f}"
        assert metrics(at)["d(a, n)"] == f"{question.d_an:.3f}"
        assert any(explain(question) == m.value for m in at.markdown)
        assert metrics(at)["Score"] == f"{sum(right_pattern[: i + 1])} / {i + 1}"
        # a second click on an answer does nothing: the buttons are gone
        assert not [b for b in at.button if b.key and b.key.startswith("quiz.answer.")]
        at = ok(at.button(key="quiz.next").click().run())

    assert any("Round over: 6 of 10 right" in h.value for h in at.subheader)
    frame = at.dataframe[0].value
    assert list(frame.columns) == ["easy", "semi-hard", "hard"]
    assert frame.values.tolist() == expected
    assert "Best streak: **3**" in " ".join(m.value for m in at.markdown)
    assert "quiz.answers" not in dict(at.query_params) and set(at.query_params) == set(
        QuizScene().to_query()
    )

    at = ok(at.button(key="quiz.new_end").click().run())
    assert scene_of(at).seed == 1
    assert at.query_params["seed"] == "1"
    assert metrics(at)["Question"] == "1 of 10"
    assert metrics(at)["Score"] == "0 / 0"
    assert shown_points(at)["A"] == list(round_of(scene_of(at))[0].points[0])


def test_try_again_keeps_the_seed():
    at = open_page({"seed": "5"})
    first = round_of(scene_of(at))
    for question in first:
        at = answer(at, question.kind)
        at = ok(at.button(key="quiz.next").click().run())
    assert any("10 of 10" in h.value for h in at.subheader)
    at = ok([b for b in at.button if b.label == "Try this round again"][0].click().run())
    assert scene_of(at).seed == 5
    assert metrics(at)["Score"] == "0 / 0"


def test_streak_counts_and_resets():
    at = open_page()
    questions = round_of(scene_of(at))
    for question in questions[:3]:
        at = answer(at, question.kind)
        at = ok(at.button(key="quiz.next").click().run())
    assert metrics(at)["Streak"] == "3"
    at = answer(at, wrong(questions[3].kind))
    assert metrics(at)["Streak"] == "0"


def test_every_control_changes_the_url_and_restarts_the_round():
    at = open_page()
    at = answer(at, Kind.EASY)
    assert metrics(at)["Score"].endswith("/ 1")
    at.radio(key="quiz.difficulty").set_value("boundary")
    at = ok(at.run())
    assert metrics(at)["Score"] == "0 / 0"  # a new setting is a new round
    at.selectbox(key="quiz.distance").set_value("manhattan")
    at = ok(at.run())
    at.toggle(key="quiz.swap").set_value(True)
    at = ok(at.run())
    at.slider(key="quiz.margin").set_value(0.5)
    at = ok(at.run())
    at.number_input(key="quiz.seed").set_value(42)
    at = ok(at.run())
    expected = QuizScene(seed=42, difficulty="boundary", distance="manhattan", swap=True,
                         margin=0.5)  # fmt: skip
    assert scene_of(at) == expected
    assert {k: at.query_params[k] for k in at.query_params} == expected.to_query()
    first = round_of(expected)[0]
    assert shown_points(at)["N"] == list(first.points[2])
    at = answer(at, first.kind)
    assert metrics(at)["d(p, n)"] == f"{first.d_pn:.3f}"  # swap shows d(p, n)
    assert plane_data(at)["lines"] == [["A", "P"], ["A", "N"], ["P", "N"], ["m0", "m1"]]
    at = ok(at.button(key="quiz.new_side").click().run())
    assert scene_of(at) == expected.replace(seed=43)
    assert at.number_input(key="quiz.seed").value == 43
    assert metrics(at)["Score"] == "0 / 0"


def test_same_seed_same_questions_for_two_students():
    query = {"seed": "1234", "difficulty": "boundary", "distance": "chebyshev", "margin": "0.7"}
    student_1, student_2 = open_page(query), open_page(query)
    assert scene_of(student_1) == scene_of(student_2)
    for _ in range(10):
        assert shown_points(student_1) == shown_points(student_2)
        student_1 = answer(student_1, Kind.HARD)
        student_2 = answer(student_2, Kind.EASY)  # answers differ: questions do not
        student_1 = ok(student_1.button(key="quiz.next").click().run())
        student_2 = ok(student_2.button(key="quiz.next").click().run())
    other = open_page({**query, "seed": "1235"})
    assert shown_points(other) != shown_points(open_page(query))


def test_a_malformed_link_opens_the_defaults_with_a_notice():
    at = open_page({"seed": "-3", "difficulty": "impossible", "margin": "nan", "swap": "maybe"})
    assert scene_of(at) == QuizScene()
    warnings = " ".join(w.value for w in at.warning)
    for field in ("seed", "difficulty", "margin", "swap"):
        assert field in warnings
    assert metrics(at)["Question"] == "1 of 10"


def test_the_definitions_note_names_the_libraries():
    at = open_page()
    expander = at.expander[0]
    assert expander.label == "Definitions differ"
    text = " ".join(m.value for m in expander.markdown)
    for name in ("pytorch-metric-learning", "FaceNet", "Moindrot", "TensorFlow Addons",
                 "sentence-transformers", "0 < δ ≤ m", "0 < δ < m"):  # fmt: skip
        assert name in text


def test_an_impossible_kind_is_announced_and_cosine_has_no_ruler():
    at = open_page({"distance": "cosine", "margin": "3.0"})
    assert any("No easy triplet" in i.value for i in at.info)
    assert set(shown_points(at)) == {"A", "P", "N"}
