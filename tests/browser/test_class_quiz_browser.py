"""The class quiz in a real browser: a teacher and three students, each in their own context.

The teacher opens a room by clicking, the students open the students' link, join with
nicknames and answer by clicking; the teacher's page, never reloaded, shows the results
change (its fragment re-reads the rooms file every 2 s). The server is app.py, served
as ``make run`` serves it, with ``LOSSVIZ_ROOMS_DB`` at a temporary file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from lossviz.core.triplets import Kind
from lossviz.rooms import RoomStore
from lossviz.teaching.quiz_rounds import make_round
from tests.browser.conftest import VIEWPORT, screenshot, start_streamlit, wait_for_app

pytestmark = pytest.mark.browser

LIVE_TIMEOUT_MS = 15_000  # a poll every 2 s, on a busy machine
NICKNAMES = ("ada", "<b>bo</b>", "😀 **cy**")  # markup stays text


@pytest.fixture(scope="module")
def rooms_file(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("rooms") / "rooms.sqlite3"


@pytest.fixture(scope="module")
def class_server(rooms_file: Path) -> Iterator[str]:
    """app.py with its rooms in a temporary file (the server copies our environment)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LOSSVIZ_ROOMS_DB", str(rooms_file))
        patch.setenv("LOSSVIZ_ROOM_ANSWER_INTERVAL_S", "0.2")
        with start_streamlit("app.py", "streamlit-class-quiz") as base_url:
            patch.undo()  # the server has its copy; keep ours as it was
            yield base_url


def metric(page, label: str):
    """The value of the metric labelled ``label``."""
    return page.locator('[data-testid="stMetric"]', has_text=label).locator(
        '[data-testid="stMetricValue"]'
    )


def test_a_teacher_sees_three_students_answer_live(browser, class_server, rooms_file):
    from playwright.sync_api import expect

    contexts = []

    def new_page():
        context = browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(30_000)
        contexts.append(context)
        return context.new_page()

    try:
        teacher = new_page()
        teacher.goto(f"{class_server}/class_quiz?seed=5")
        wait_for_app(teacher)
        screenshot(teacher, "class-quiz-start")
        teacher.get_by_role("button", name="Open a room").click()
        code_box = teacher.locator('[data-testid="room-code"]')
        expect(code_box).to_be_visible()
        code = code_box.inner_text().strip()
        # The address the teacher may project carries the room and the view, never the key.
        expect(teacher).to_have_url(re.compile(rf"/class_quiz\?room={code}&view=teacher$"))
        teacher.get_by_text("Your teacher's link: keep it private").click()
        private = teacher.get_by_test_id("stCode").filter(has_text="&key=")
        key = private.inner_text().strip().split("&key=")[-1]
        expect(metric(teacher, "Joined")).to_have_text("0")
        students_link = f"{class_server}/class_quiz?room={code}"
        expect(teacher.get_by_text(students_link, exact=True)).to_be_visible()
        teacher.evaluate("window.__not_reloaded = true")
        questions = make_round(5)

        students = []
        for nickname in NICKNAMES:
            student = new_page()
            student.goto(students_link)
            wait_for_app(student)
            if not students:
                screenshot(student, "class-quiz-student-join")
            student.get_by_label("Nickname", exact=True).fill(nickname)
            student.get_by_role("button", name="Join").click()
            expect(student.get_by_text(f"You joined as: {nickname}")).to_be_visible()
            students.append(student)
        expect(metric(teacher, "Joined")).to_have_text("3", timeout=LIVE_TIMEOUT_MS)
        expect(metric(teacher, "Answers")).to_have_text("0 of 30")

        # ada is right, the other two say "easy" when it is not (or "hard" when it is).
        first = questions[0].kind
        wrong = Kind.HARD if first == Kind.EASY else Kind.EASY
        for student, kind in zip(students, (first, wrong, wrong), strict=True):
            student.get_by_role("button", name=kind.label, exact=True).click()
            expect(student.get_by_role("button", name="Next question")).to_be_visible()
        expect(students[0].get_by_text(f"Right: it is {first.label}.")).to_be_visible()
        expect(students[1].get_by_text(f"you said {wrong.label}")).to_be_visible()
        screenshot(students[1], "class-quiz-student-feedback")

        expect(metric(teacher, "Answers")).to_have_text("3 of 30", timeout=LIVE_TIMEOUT_MS)
        confusion = teacher.locator('[data-testid="stTable"]').nth(1)
        row = confusion.locator("tr", has_text=f"was {first.label}")
        cells = [int(x) for x in row.locator("td").all_inner_texts()]
        assert cells[int(first)] == 1 and cells[int(wrong)] == 2
        expect(teacher.get_by_text("Most missed: question 1 (2 of 3 wrong)")).to_be_visible()
        expect(teacher.locator(".lv-plane")).to_be_visible()
        expect(teacher.locator('[data-testid="kind-badge"]')).to_have_attribute(
            "data-kind", first.label
        )

        # A second question from ada alone: the count moves again, still without a reload.
        students[0].get_by_role("button", name="Next question").click()
        expect(students[0].get_by_text("2 of 10")).to_be_visible()
        students[0].get_by_role("button", name=questions[1].kind.label, exact=True).click()
        expect(metric(teacher, "Answers")).to_have_text("4 of 30", timeout=LIVE_TIMEOUT_MS)
        assert teacher.evaluate("window.__not_reloaded") is True
        # Nicknames are in the teacher's table only, as text; never on a student's page.
        teacher.get_by_text("Students (3)").click()
        for student in students:
            for other in NICKNAMES:
                mine = other in student.get_by_text("You joined as").inner_text()
                assert mine or other not in student.locator("body").inner_text()
        assert teacher.locator("b", has_text="bo").count() == 0  # not rendered as HTML
        teacher.wait_for_timeout(500)
        screenshot(teacher, "class-quiz-teacher")

        store = RoomStore(rooms_file)
        assert store.room(code).settings["seed"] == "5"
        assert [s.answered for s in store.results(code, key).students] == [2, 1, 1]

        # A reload (a new session) puts ada back in her seat, on her first open question.
        students[0].reload()
        wait_for_app(students[0])
        expect(students[0].get_by_text("You joined as: ada")).to_be_visible()
        expect(metric(students[0], "Question")).to_have_text("3 of 10")
        expect(metric(students[0], "Score")).to_have_text("2 / 2")

        # The teacher removes the second seat; that student's browser cannot come back.
        teacher.get_by_role("button", name="Refresh the list").click()  # joined since
        teacher.get_by_role("combobox", name="Remove a student").click()
        teacher.wait_for_timeout(4500)  # two polls of the results: the list stays open
        teacher.get_by_role("option", name=NICKNAMES[1], exact=True).click()
        teacher.get_by_role("button", name="Remove", exact=True).click()
        expect(metric(teacher, "Joined")).to_have_text("2", timeout=LIVE_TIMEOUT_MS)
        students[1].reload()
        wait_for_app(students[1])
        expect(students[1].get_by_text("Your teacher removed you from this room.")).to_be_visible()

        # Locked: a newcomer gets no join form; ada still has her seat.
        teacher.get_by_role("button", name="Lock the room").click()
        expect(teacher.get_by_role("button", name="Unlock the room")).to_be_visible()
        late = new_page()
        late.goto(students_link)
        wait_for_app(late)
        expect(late.get_by_text("This room is locked")).to_be_visible()
        expect(late.get_by_label("Nickname", exact=True)).to_have_count(0)

        # The projector view: the code and results, no nicknames, no key in the address.
        teacher.get_by_role("button", name="Show the projector view").click()
        expect(teacher).to_have_url(re.compile(rf"/class_quiz\?room={code}&view=board$"))
        # Wait for the board's own button and for the teacher's elements to go (a rerun
        # keeps the previous view's elements on screen, stale, until it replaces them).
        expect(teacher.get_by_role("button", name="Back to the teacher's controls")).to_be_visible()
        expect(teacher.get_by_text(re.compile(r"^Students \(\d+\)$"))).to_have_count(0)
        expect(teacher.get_by_role("button", name="Lock the room")).to_have_count(0)
        expect(teacher.get_by_role("button", name="Unlock the room")).to_have_count(0)
        expect(metric(teacher, "Joined")).to_have_text("2")
        body = teacher.locator("body").inner_text()
        assert key not in body and not [n for n in NICKNAMES if n in body], body
        screenshot(teacher, "class-quiz-board")
    finally:
        for context in contexts:
            context.close()
