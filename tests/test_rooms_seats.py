"""Seats on SQLite and PostgreSQL: rejoining by the browser's seat secret, the join rate
limit per address, the teacher's lock and removal, and their key checks."""

from __future__ import annotations

import contextlib

import pytest

from lossviz.rooms import (
    AccessDeniedError,
    BadNicknameError,
    BadSeatError,
    JoinRateLimitedError,
    NicknameTakenError,
    RateLimitedError,
    RemovedError,
    RoomConfig,
    RoomFullError,
    RoomLockedError,
    RoomNotFoundError,
    Seat,
    UnknownStudentError,
    wait_message,
)
from tests.rooms_support import KEY, SETTINGS, Clock, dump, raw, store_at

SEAT = "browser-seat-secret-0123456789"  # what a cookie holds: 16..200 characters
ADDRESS = "203.0.113.7"
LIMITED = RoomConfig(answer_interval_s=0.0, join_interval_s=1.0)


# --------------------------------------------------------------------------- rejoining


def test_a_seat_secret_comes_back_to_the_same_seat_with_its_answers(db):
    store = store_at(db)
    room, secret = store.create_room(SETTINGS, KEY)
    first = store.join(room.code, "ada", seat=SEAT)
    assert first == Seat(SEAT, "ada", rejoined=False, student_id=first.student_id)
    assert store.answer(room.code, first.token, 0, 2)
    again = store.join(room.code, "another name", seat=SEAT)  # a reload: the name is ignored
    assert again == Seat(SEAT, "ada", rejoined=True, student_id=first.student_id)
    assert store.my_answers(room.code, again.token).answers == {0: 2}
    results = store.results(room.code, secret)
    assert results.joined == 1 and results.students[0].student_id == first.student_id


def test_a_seat_comes_back_even_when_the_room_is_locked_or_full_or_rate_limited(db):
    clock = Clock()
    store = store_at(db, RoomConfig(max_students=2, join_interval_s=1.0), clock)
    room, secret = store.create_room(SETTINGS, KEY)
    mine = store.join(room.code, "ada", seat=SEAT, address=ADDRESS)
    store.join(room.code, "bo")
    with pytest.raises(RoomFullError):
        store.join(room.code, "cy")
    assert store.join(room.code, "", seat=SEAT, address=ADDRESS).rejoined  # full, too soon
    store.set_locked(room.code, secret, True)
    assert store.join(room.code, None, seat=SEAT).student_id == mine.student_id  # locked
    assert store.results(room.code, secret).joined == 2


def test_without_a_seat_secret_each_join_is_a_new_seat(db):
    store = store_at(db)
    room, _ = store.create_room(SETTINGS, KEY)
    one, two = store.join(room.code, "ada"), store.join(room.code, "bo")
    assert len(one.token) >= 32 and one.token != two.token
    assert not one.rejoined and one.student_id != two.student_id
    with pytest.raises(NicknameTakenError):  # a reload without the cookie: the name is taken
        store.join(room.code, "ada")


def test_one_seat_secret_sits_in_two_rooms_apart(db):
    store = store_at(db)
    room, _ = store.create_room(SETTINGS, KEY)
    other, _ = store.create_room(SETTINGS, KEY)
    here = store.join(room.code, "ada", seat=SEAT)
    there = store.join(other.code, "bo", seat=SEAT)
    assert not there.rejoined and there.student_id != here.student_id
    store.answer(room.code, SEAT, 1, 1)
    assert store.my_answers(other.code, SEAT).answers == {}
    assert SEAT not in dump(db)


@pytest.mark.parametrize("seat", ["short", "x" * 15, "x" * 201, 12345678901234567890, b"x" * 20])
def test_a_malformed_seat_secret_is_refused(db, seat):
    store = store_at(db)
    room, secret = store.create_room(SETTINGS, KEY)
    with pytest.raises(BadSeatError, match="reload"):
        store.join(room.code, "ada", seat=seat)
    assert store.results(room.code, secret).joined == 0
    assert store.join(room.code, "ada", seat="x" * 16).token == "x" * 16  # the bounds are in
    assert store.join(room.code, "bo", seat="y" * 200).token == "y" * 200


# --------------------------------------------------------------------------- join rate limit


def test_a_burst_of_100_joins_from_one_address_holds_one_seat(db):
    clock = Clock()
    store = store_at(db, LIMITED, clock)
    room, secret = store.create_room(SETTINGS, KEY)
    refused = 0
    for i in range(100):  # 0.99 s in all, 0.01 s apart: all within the first seat's second
        try:
            store.join(room.code, f"bot {i}", address=ADDRESS)
        except JoinRateLimitedError as refusal:
            refused += 1
            assert 0 < refusal.wait_s <= 1.0 and "0.0 s" not in str(refusal)
        clock.tick(0.01)
    assert refused == 99
    assert store.results(room.code, secret).joined == 1


def test_people_behind_one_router_get_in_one_per_interval(db):
    """A refused attempt does not restart the interval: presses 0.3 s apart (a rate far
    below a script's) take a seat every time a second has passed since the last."""
    clock = Clock()
    store = store_at(db, LIMITED, clock)
    room, secret = store.create_room(SETTINGS, KEY)
    for i in range(17):  # 0 to 4.8 s
        with contextlib.suppress(JoinRateLimitedError):
            store.join(room.code, f"student {i}", address=ADDRESS)
        clock.tick(0.3)
    joined = [s.nickname for s in store.results(room.code, secret).students]
    assert joined == [f"student {i}" for i in (0, 4, 8, 12, 16)]  # at 0, 1.2, 2.4, 3.6, 4.8 s


def test_a_hammering_address_stays_blocked_until_it_stops(db):
    clock = Clock()
    store = store_at(db, LIMITED, clock)
    room, secret = store.create_room(SETTINGS, KEY)
    for i in range(250):  # 5 s of tries 0.02 s apart: fifty a second, a script's rate
        with contextlib.suppress(JoinRateLimitedError):
            store.join(room.code, f"bot {i}", address=ADDRESS)
        clock.tick(0.02)
    assert store.results(room.code, secret).joined == 1
    with pytest.raises(JoinRateLimitedError, match="Too many tries"):
        store.join(room.code, "late", address=ADDRESS)  # 0.02 s after the last try
    clock.tick(1.0)  # a quiet second: the block is over
    assert store.join(room.code, "late", address=ADDRESS).nickname == "late"


def test_the_interval_runs_out_a_second_after_the_last_seat(db):
    clock = Clock()
    store = store_at(db, LIMITED, clock)
    room, secret = store.create_room(SETTINGS, KEY)
    store.join(room.code, "ada", address=ADDRESS)
    clock.tick(0.25)
    with pytest.raises(JoinRateLimitedError, match=r"wait 0\.8 s"):
        store.join(room.code, "bo", address=ADDRESS)
    clock.tick(0.5)
    with pytest.raises(JoinRateLimitedError, match=r"wait 0\.3 s"):  # still ada's second
        store.join(room.code, "bo", address=ADDRESS)
    clock.tick(0.25)
    assert store.join(room.code, "bo", address=ADDRESS).nickname == "bo"
    store.join(room.code, "cy", address="198.51.100.1")  # another address: its own interval
    store.join(room.code, "dee")  # no address known: no limit
    assert store.results(room.code, secret).joined == 4


def test_a_refused_join_does_not_use_up_the_address(db):
    clock = Clock()
    store = store_at(db, RoomConfig(max_students=2, join_interval_s=1.0), clock)
    room, _ = store.create_room(SETTINGS, KEY)
    store.join(room.code, "ada")
    with pytest.raises(BadNicknameError):
        store.join(room.code, "   ", address=ADDRESS)
    assert store.join(room.code, "bo", address=ADDRESS).nickname == "bo"  # at once


def joined_two_rooms(db, clock: Clock):
    """A limited store with two rooms, and "ada" joined to each from ``ADDRESS``."""
    store = store_at(db, LIMITED, clock)
    room, _ = store.create_room(SETTINGS, KEY)
    other, _ = store.create_room(SETTINGS, KEY)
    store.join(room.code, "ada", address=ADDRESS)
    store.join(other.code, "ada", address=ADDRESS)
    return store, room


def test_the_limit_is_per_room_and_off_at_zero(db):
    clock = Clock()
    _, room = joined_two_rooms(db, clock)
    free = store_at(db, RoomConfig(join_interval_s=0.0), clock)
    for name in ("bo", "cy", "dee"):
        free.join(room.code, name, address=ADDRESS)
    assert raw(db, "SELECT COUNT(*) FROM students") == [(5,)]


def test_only_a_keyed_digest_of_the_address_is_kept_and_only_for_the_interval(db):
    clock = Clock()
    store, room = joined_two_rooms(db, clock)
    rows = raw(db, "SELECT room, address_hash FROM join_attempts ORDER BY room")
    assert len(rows) == 2 and rows[0][1] != rows[1][1]  # salted per room: not linkable
    assert ADDRESS not in dump(db)
    clock.tick(1.0)
    store.join(room.code, "bo", address="198.51.100.1")  # the next join sweeps stale rows
    assert raw(db, "SELECT COUNT(*) FROM join_attempts WHERE room = ?", (room.code,)) == [(1,)]


# --------------------------------------------------------------------------- wait messages


@pytest.mark.parametrize(
    ("wait", "shown"),
    [(0.0, "0.1 s"), (1e-9, "0.1 s"), (0.04, "0.1 s"), (0.1, "0.1 s"), (0.30000000000000004,
     "0.3 s"), (0.31, "0.4 s"), (0.99, "1.0 s"), (1.0, "1.0 s"), (2.05, "2.1 s")],
)  # fmt: skip
def test_a_wait_is_rounded_up_to_a_tenth_and_never_zero(wait, shown):
    assert wait_message(wait) == shown


def test_an_answer_rate_limit_never_says_wait_zero(db):
    clock = Clock()
    store = store_at(db, RoomConfig(answer_interval_s=0.5), clock)
    room, _ = store.create_room(SETTINGS, KEY)
    token = store.join(room.code, "ada").token
    store.answer(room.code, token, 0, 0)
    clock.tick(0.46)  # 0.04 s to go: once shown as "wait 0.0 s"
    with pytest.raises(RateLimitedError) as caught:
        store.answer(room.code, token, 1, 0)
    assert "wait 0.1 s" in str(caught.value) and caught.value.wait_s == pytest.approx(0.04)


# --------------------------------------------------------------------------- lock


def test_a_locked_room_takes_no_new_student_until_unlocked(db):
    store = store_at(db)
    room, secret = store.create_room(SETTINGS, KEY)
    ada = store.join(room.code, "ada")
    locked = store.set_locked(room.code, secret, True)
    assert locked.locked and locked.code == room.code and store.room(room.code).locked
    with pytest.raises(RoomLockedError, match="locked"):
        store.join(room.code, "bo")
    assert store.answer(room.code, ada.token, 0, 0)  # a seated student goes on answering
    assert store.results(room.code, secret).room.locked
    assert not store.set_locked(room.code, secret, False).locked
    assert not store.room(room.code).locked
    assert store.join(room.code, "bo").nickname == "bo"


def test_locked_is_a_bool(db):
    store = store_at(db)
    room, secret = store.create_room(SETTINGS, KEY)
    with pytest.raises(TypeError):
        store.set_locked(room.code, secret, "yes")


# --------------------------------------------------------------------------- removal


def test_a_removed_student_leaves_the_results_and_cannot_come_back(db):
    store = store_at(db)
    room, secret = store.create_room(SETTINGS, KEY)
    ada = store.join(room.code, "ada", seat=SEAT)
    bo = store.join(room.code, "bo")
    for question in range(3):
        store.answer(room.code, ada.token, question, KEY[question])
        store.answer(room.code, bo.token, question, (KEY[question] + 1) % 3)
    assert store.remove_student(room.code, secret, ada.student_id) is None
    results = store.results(room.code, secret)
    assert [s.nickname for s in results.students] == ["bo"] and results.joined == 1
    assert results.total_answers == 3 and results.histogram[0] == 1
    assert raw(db, "SELECT COUNT(*) FROM answers WHERE student = ?", (ada.student_id,)) == [(0,)]
    with pytest.raises(RemovedError, match="removed you"):
        store.join(room.code, "ada again", seat=SEAT)
    with pytest.raises(RemovedError):
        store.my_answers(room.code, ada.token)
    with pytest.raises(RemovedError):
        store.answer(room.code, ada.token, 5, 0)
    store.set_locked(room.code, secret, True)
    with pytest.raises(RemovedError):  # removed comes before locked
        store.join(room.code, "ada", seat=SEAT)


def test_a_removal_frees_the_nickname_and_the_seat(db):
    store = store_at(db, RoomConfig(max_students=2, join_interval_s=0))
    room, secret = store.create_room(SETTINGS, KEY)
    ada = store.join(room.code, "ada")
    store.join(room.code, "bo")
    store.remove_student(room.code, secret, ada.student_id)
    store.remove_student(room.code, secret, ada.student_id)  # twice: no error
    new = store.join(room.code, "ada")  # the real ada, after an impostor was removed
    assert new.student_id != ada.student_id
    with pytest.raises(RoomFullError):
        store.join(room.code, "cy")


def test_only_a_student_of_this_room_can_be_removed(db):
    store = store_at(db)
    room, secret = store.create_room(SETTINGS, KEY)
    other, _ = store.create_room(SETTINGS, KEY)
    elsewhere = store.join(other.code, "ada")
    for bad in (elsewhere.student_id, 10**9, -1, 0, 2**70, "1", None, True, 1.0):
        with pytest.raises(UnknownStudentError):
            store.remove_student(room.code, secret, bad)
    assert store.my_answers(other.code, elsewhere.token).nickname == "ada"


# --------------------------------------------------------------------------- teacher's key


@pytest.mark.parametrize("operation", ["lock", "unlock", "remove"])
def test_teacher_operations_need_the_teachers_key(db, operation):
    store = store_at(db)
    room, secret = store.create_room(SETTINGS, KEY)
    other, other_secret = store.create_room(SETTINGS, KEY)
    ada = store.join(room.code, "ada")

    def act(code, key):
        if operation == "remove":
            return store.remove_student(code, key, ada.student_id)
        return store.set_locked(code, key, operation == "lock")

    for bad in (None, "", "x", secret + "x", secret[:-1], ada.token, other_secret, "a" * 10_000,
                42):  # fmt: skip
        with pytest.raises(AccessDeniedError):
            act(room.code, bad)
    for missing in ("ABCDEF" if store.room("ABCDEF") is None else "GHJKLM", "nonsense", None):
        with pytest.raises(RoomNotFoundError):
            act(missing, secret)
    assert not store.room(room.code).locked
    assert store.results(room.code, secret).joined == 1
    act(room.code, secret)
    assert store.results(other.code, other_secret).joined == 0


def test_teacher_operations_on_an_expired_room_find_no_room(db):
    clock = Clock()
    store = store_at(db, RoomConfig(ttl_minutes=1, join_interval_s=0), clock)
    room, secret = store.create_room(SETTINGS, KEY)
    ada = store.join(room.code, "ada")
    clock.tick(60)
    with pytest.raises(RoomNotFoundError):
        store.set_locked(room.code, secret, True)
    with pytest.raises(RoomNotFoundError):
        store.remove_student(room.code, secret, ada.student_id)
