"""The compute thread and the batcher that groups requests arriving together."""

from __future__ import annotations

import threading
import time

import pytest

from rag.core import compute


def test_requests_that_arrive_while_busy_are_handled_together():
    batches: list[list[int]] = []

    def double(items: list[int]) -> list[int]:
        batches.append(items)
        return [2 * i for i in items]

    batcher = compute.Batcher(double, max_batch=4)
    busy = compute.submit(time.sleep, 0.3)  # the compute thread is taken meanwhile
    results: dict[int, int] = {}
    threads = [
        threading.Thread(target=lambda i=i: results.__setitem__(i, batcher.run(i)))
        for i in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    busy.result()
    assert results == {i: 2 * i for i in range(6)}
    assert max(len(b) for b in batches) == 4, "at most max_batch at a time"
    assert sum(len(b) for b in batches) == 6


def test_a_request_whose_caller_gave_up_is_dropped_not_computed():
    seen: list[str] = []

    def handle(items: list[str]) -> list[str]:
        seen.extend(items)
        return items

    batcher = compute.Batcher(handle)
    busy = compute.submit(time.sleep, 0.5)
    with pytest.raises(TimeoutError):
        batcher.run("abandoned", timeout=0.05)
    busy.result()
    assert batcher.run("later") == "later"
    assert seen == ["later"]


def test_an_error_reaches_every_caller_of_the_batch():
    def fail(items: list[int]) -> list[int]:
        raise ValueError("bad batch")

    with pytest.raises(ValueError, match="bad batch"):
        compute.Batcher(fail).run(1)


def test_on_the_compute_thread_a_request_is_handled_at_once():
    batcher = compute.Batcher(lambda items: [i + 1 for i in items])
    assert compute.compute(batcher.run, 1) == 2
