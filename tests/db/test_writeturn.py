"""Turns at SQLite's write lock: each process raises its own flag, the loop watches them all."""

from __future__ import annotations

import multiprocessing
import threading
import time

from gateway.db.writeturn import WriteTurn

_MP = multiprocessing.get_context("fork")


def test_each_process_raises_only_its_own_flag_and_the_loop_sees_any() -> None:
    sender, reader = _MP.Event(), _MP.Event()
    loop = WriteTurn(sender, reader)
    assert not loop.wanted()
    with WriteTurn(reader).asked():
        assert reader.is_set() and not sender.is_set()
        assert loop.wanted()
    assert not reader.is_set() and not loop.wanted()
    with WriteTurn(sender).asked():
        assert loop.wanted()


def test_the_loop_gives_way_until_the_other_process_is_done() -> None:
    flag = _MP.Event()
    loop = WriteTurn(flag, patience=10.0)
    done = threading.Event()

    def other_process() -> None:
        with WriteTurn(flag).asked():
            done.wait(5)
            time.sleep(0.05)

    worker = threading.Thread(target=other_process)
    worker.start()
    while not flag.is_set():
        time.sleep(0.001)
    done.set()
    loop.give_way()
    assert not flag.is_set()  # it returned because the turn ended, not because patience ran out
    worker.join()


def test_the_loop_gives_way_no_longer_than_its_patience() -> None:
    flag = _MP.Event()
    flag.set()  # a process that died holding its flag up
    start = time.monotonic()
    WriteTurn(flag, patience=0.05).give_way()
    assert time.monotonic() - start < 5.0
    assert flag.is_set()


def test_without_flags_there_is_nothing_to_wait_for() -> None:
    turn = WriteTurn()
    with turn.asked():
        assert not turn.wanted()
    turn.give_way()
