"""Concurrent joins and answers on SQLite and PostgreSQL: the last seat is taken once, a
question is answered once, a burst from one address holds one seat.

Each thread has its own store, as another server process would, except where one store's
threads are the point. Threads start together at a barrier; nothing here measures time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from lossviz.rooms import (
    JoinRateLimitedError,
    RoomConfig,
    RoomFullError,
    RoomStore,
)
from tests.rooms_support import KEY, SETTINGS, Clock, raw


def together(count: int, work: Callable[[int], object]) -> list[object]:
    """``work(i)`` in ``count`` threads released at once; each one's result or exception."""
    start = threading.Barrier(count)
    outcomes: list[object] = [None] * count

    def run(i: int) -> None:
        start.wait()
        try:
            outcomes[i] = work(i)
        except Exception as error:  # noqa: BLE001 - returned to the test
            outcomes[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_threads_racing_for_the_last_seats_take_exactly_the_maximum(db):
    config = RoomConfig(max_students=10, answer_interval_s=0, join_interval_s=0)
    room, secret = RoomStore(db, config).create_room(SETTINGS, KEY)
    stores = [RoomStore(db, config) for _ in range(30)]
    outcomes = together(30, lambda i: stores[i].join(room.code, f"student {i}"))
    seated = [o for o in outcomes if not isinstance(o, Exception)]
    full = [o for o in outcomes if isinstance(o, RoomFullError)]
    assert len(seated) == 10 and len(full) == 20, [o for o in outcomes if o not in seated + full]
    assert RoomStore(db, config).results(room.code, secret).joined == 10
    assert raw(db, "SELECT COUNT(*) FROM students WHERE room = ?", (room.code,)) == [(10,)]


def test_one_last_seat_for_many_threads_goes_to_one(db):
    config = RoomConfig(max_students=5, answer_interval_s=0, join_interval_s=0)
    store = RoomStore(db, config)
    room, secret = store.create_room(SETTINGS, KEY)
    for i in range(4):
        store.join(room.code, f"early {i}")
    outcomes = together(12, lambda i: store.join(room.code, f"late {i}"))  # one store, threads
    assert sum(not isinstance(o, Exception) for o in outcomes) == 1
    assert sum(isinstance(o, RoomFullError) for o in outcomes) == 11
    assert store.results(room.code, secret).joined == 5


def test_duplicate_answers_at_once_store_one(db):
    config = RoomConfig(answer_interval_s=0, join_interval_s=0)
    store = RoomStore(db, config)
    room, secret = store.create_room(SETTINGS, KEY)
    token = store.join(room.code, "ada").token
    stores = [RoomStore(db, config) for _ in range(12)]
    for question in range(3):
        outcomes = together(12, lambda i, q=question: stores[i].answer(room.code, token, q, i % 3))
        assert sorted(outcomes, key=str) == [False] * 11 + [True], outcomes
        winner = outcomes.index(True) % 3
        assert store.my_answers(room.code, token).answers[question] == winner
    assert store.results(room.code, secret).total_answers == 3
    assert raw(db, "SELECT COUNT(*) FROM answers") == [(3,)]


def test_a_burst_of_100_threads_from_one_address_holds_one_seat(db):
    clock = Clock()  # frozen: every attempt is inside the interval of the one before
    store = RoomStore(db, RoomConfig(answer_interval_s=0, join_interval_s=1.0), clock)
    room, secret = store.create_room(SETTINGS, KEY)
    outcomes = together(100, lambda i: store.join(room.code, f"bot {i}", address="192.0.2.9"))
    assert sum(isinstance(o, JoinRateLimitedError) for o in outcomes) == 99, outcomes[:3]
    assert store.results(room.code, secret).joined == 1
