"""What the store hands out: rooms, seats, results, a student's own answers.

A room stores the quiz settings (a link's query, ``str -> str``) and the answer key (the
true kind of each question, ``lossviz.core.triplets.Kind`` as an int 0..2), so results are a
plain recount (:func:`tally`) of the stored answers against the stored key. Times are
seconds since the epoch from the store's clock. Nicknames are data: show them as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

KINDS = 3  # easy, semi-hard, hard: lossviz.core.triplets.Kind's values 0..2


@dataclass(frozen=True)
class Room:
    """A room as stored: its code, quiz settings, answer key, times and lock."""

    code: str
    settings: dict[str, str]
    answer_key: tuple[int, ...]
    created: float
    expires: float
    locked: bool = False  # True: no new student may join (seats come back all the same)

    @property
    def length(self) -> int:
        return len(self.answer_key)


@dataclass(frozen=True)
class Seat:
    """A student's place in a room, as ``join`` returns it.

    ``token``: the seat secret (the browser's own, or drawn by ``join``): the student's
    only key, to pass to ``answer`` and ``my_answers``. ``rejoined``: True when the seat
    already existed (the nickname passed to ``join`` was then ignored). ``student_id``: the
    id the teacher's table shows (``StudentResult.student_id``, ``remove_student``).
    """

    token: str = field(repr=False)
    nickname: str
    rejoined: bool
    student_id: int


@dataclass(frozen=True)
class StudentResult:
    """One student's line in the teacher's table (``nickname`` is data: show it as text)."""

    nickname: str
    answered: int
    score: int
    student_id: int = 0


@dataclass(frozen=True)
class ClassResults:
    """The class's results, recounted from the stored answers and the stored answer key.

    Removed students are left out (their answers are deleted). ``answered[q]`` /
    ``wrong[q]``: students who answered question ``q`` / got it wrong. ``histogram[s]``:
    students with ``s`` right answers, among those who answered at least one question.
    ``confusion[true][given]``: answers of kind ``given`` to questions of kind ``true``.
    ``most_missed``: the question with the most wrong answers (the first of a tie), None
    while no answer is wrong.
    """

    room: Room
    joined: int
    students: tuple[StudentResult, ...]  # in joining order
    answered: tuple[int, ...]
    wrong: tuple[int, ...]
    histogram: tuple[int, ...]
    confusion: tuple[tuple[int, ...], ...]
    most_missed: int | None

    @property
    def total_answers(self) -> int:
        return sum(self.answered)

    @property
    def finished(self) -> int:
        return sum(s.answered == self.room.length for s in self.students)


@dataclass(frozen=True)
class MyAnswers:
    """What one student may see: their nickname and their own answers (question -> kind)."""

    nickname: str
    answers: dict[int, int]


def tally(
    room: Room, students: Sequence[tuple[int, str]], answers: Sequence[tuple[int, int, int]]
) -> ClassResults:
    """Results from rows: students ``(id, nickname)``, answers ``(student, question, kind)``.

    Answers of a student not in ``students`` are not counted.
    """
    n = room.length
    answered, wrong = [0] * n, [0] * n
    confusion = [[0] * KINDS for _ in range(KINDS)]
    per_student = {sid: [0, 0] for sid, _ in students}  # answered, right
    for sid, question, kind in answers:
        if sid not in per_student:
            continue
        true = room.answer_key[question]
        answered[question] += 1
        confusion[true][kind] += 1
        per_student[sid][0] += 1
        if kind == true:
            per_student[sid][1] += 1
        else:
            wrong[question] += 1
    histogram = [0] * (n + 1)
    for count, right in per_student.values():
        if count:
            histogram[right] += 1
    most = max(range(n), key=lambda q: (wrong[q], -q))
    return ClassResults(
        room=room,
        joined=len(students),
        students=tuple(
            StudentResult(name, *per_student[sid], student_id=sid) for sid, name in students
        ),
        answered=tuple(answered),
        wrong=tuple(wrong),
        histogram=tuple(histogram),
        confusion=tuple(tuple(row) for row in confusion),
        most_missed=most if wrong[most] else None,
    )
