"""The writer lock's thread queue: first come, first served, re-entrant."""

from __future__ import annotations

import threading
import time

import pytest

from firsttouch.store.fair_lock import FairRLock


def wait_until_queued(lock: FairRLock, waiting: int) -> None:
    for _ in range(500):
        if len(lock._waiters) >= waiting:
            return
        time.sleep(0.002)
    raise AssertionError(f"{waiting} threads never queued")


def test_waiting_threads_get_the_lock_in_the_order_they_came() -> None:
    lock = FairRLock()
    order: list[int] = []
    lock.acquire()

    def take(n: int) -> None:
        lock.acquire()
        order.append(n)
        lock.release()

    threads = []
    for n in range(5):
        thread = threading.Thread(target=take, args=(n,))
        thread.start()
        wait_until_queued(lock, n + 1)
        threads.append(thread)
    lock.release()
    for thread in threads:
        thread.join(timeout=5)

    assert order == [0, 1, 2, 3, 4]


def test_the_releasing_thread_cannot_take_it_back_ahead_of_a_waiter() -> None:
    lock = FairRLock()
    lock.acquire()
    got: list[str] = []

    def waiter() -> None:
        lock.acquire()
        got.append("waiter")
        lock.release()

    thread = threading.Thread(target=waiter)
    thread.start()
    wait_until_queued(lock, 1)
    lock.release()
    assert lock.acquire(timeout=5)
    got.append("releaser")
    lock.release()
    thread.join(timeout=5)

    assert got == ["waiter", "releaser"]


def test_it_is_re_entrant_and_let_go_by_the_last_release() -> None:
    lock = FairRLock()
    assert lock.acquire() and lock.acquire()
    lock.release()

    other = threading.Thread(target=lambda: taken.append(lock.acquire(timeout=0.05)))
    taken: list[bool] = []
    other.start()
    other.join()
    assert taken == [False]  # still held once

    lock.release()
    assert lock.acquire(blocking=False)
    lock.release()


def test_a_waiter_that_times_out_leaves_the_queue() -> None:
    lock = FairRLock()
    lock.acquire()
    results: list[bool] = []
    thread = threading.Thread(target=lambda: results.append(lock.acquire(timeout=0.05)))
    thread.start()
    thread.join()
    lock.release()

    assert results == [False]
    assert lock.acquire(blocking=False)  # nobody left queued ahead
    lock.release()


def test_only_the_holder_may_release() -> None:
    lock = FairRLock()
    with pytest.raises(RuntimeError, match="does not hold"):
        lock.release()
