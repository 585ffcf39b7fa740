"""Process-level tuning for CPU inference in a server, measured on 2 cores.

Two effects outside our code cost a quarter of the latency of an answer:

* libgomp (torch's OpenMP): once the *main* thread has run a parallel region,
  parallel regions started by other threads run about 2.5x slower (a 12-token
  forward pass of the embedding model: 4.0 ms on a fresh thread, 10.1 ms on a
  thread started after the main one had computed). A web server answers on worker
  threads, so :func:`off_main_thread` loads and warms the models elsewhere and the
  main thread never computes.
* glibc returns freed blocks of a few MB to the system after every forward pass
  and faults them back in on the next one; :func:`keep_freed_memory` raises the
  mmap and trim thresholds so the activations' memory is reused (reading 5
  passages: 61 → 52 ms). It costs no more than the peak of one request.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def keep_freed_memory(threshold: int = 256 * 1024 * 1024) -> bool:
    """Tell glibc to keep freed blocks below ``threshold`` bytes; False where not glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(
            libc.mallopt(_M_MMAP_THRESHOLD, threshold)
            and libc.mallopt(_M_TRIM_THRESHOLD, 4 * threshold)
        )
    except (OSError, AttributeError):
        return False


def off_main_thread(fn: Callable[[], T]) -> T:
    """Run ``fn`` on a helper thread and return its result (or raise its error)."""
    result: list = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(fn())
        except BaseException as exc:  # re-raised in the caller
            error.append(exc)

    thread = threading.Thread(target=target, name="rag-load")
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]
