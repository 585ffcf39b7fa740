"""Process-level tuning for CPU inference, measured on 2 cores.

Three effects outside our code cost a quarter of the latency of an answer, or
half a gigabyte (the third is :func:`bound_kernel_cache`):

* libgomp (torch's OpenMP) makes a thread's parallel regions run up to 2.5x
  slower once *other* threads have run parallel regions of their own (a 12-token
  forward pass of the embedding model: 4.0 ms on the only computing thread,
  10 ms on a thread that starts computing after the main one did; 6.3 ms with
  four threads taking turns). A web server answers on whichever worker thread is
  free, so :func:`compute` runs every model call of the process on one dedicated
  thread. It also keeps concurrent requests from oversubscribing the cores.
* glibc returns freed blocks of a few MB to the system after every forward pass
  and faults them back in on the next one; :func:`keep_freed_memory` raises the
  mmap and trim thresholds so the activations' memory is reused (reading 5
  passages: 61 → 52 ms). Blocks over 32 MB (large batches) are still returned.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_executor: ThreadPoolExecutor | None = None
_compute_thread: threading.Thread | None = None
_lock = threading.Lock()


def bound_kernel_cache(capacity: int = 256) -> None:
    """Cap oneDNN's cache of compiled kernels (before the first model call).

    oneDNN compiles a kernel, with its own packed copy of the weights, for every
    input shape and keeps up to 1,024 of them; the reader sees a new shape with
    every batch size and passage length, so a server's memory grew by 500 MB under
    8 concurrent clients (1,640 MB → 1,136 MB with a cap of 16). An explicit
    ``ONEDNN_PRIMITIVE_CACHE_CAPACITY`` wins.
    """
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", str(capacity))


def keep_freed_memory(threshold: int = 32 * 1024 * 1024) -> bool:
    """Tell glibc to keep freed blocks below ``threshold`` bytes; False where not glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(
            libc.mallopt(_M_MMAP_THRESHOLD, threshold)
            and libc.mallopt(_M_TRIM_THRESHOLD, threshold)
        )
    except (OSError, AttributeError):
        return False


def _mark_compute_thread() -> None:
    global _compute_thread
    _compute_thread = threading.current_thread()


def on_compute_thread() -> bool:
    return threading.current_thread() is _compute_thread


def submit(fn: Callable[..., T], *args, **kwargs) -> Future:
    """Queue ``fn`` on the process's one compute thread; its future."""
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="rag-compute", initializer=_mark_compute_thread
            )
    return _executor.submit(fn, *args, **kwargs)


def compute(fn: Callable[..., T], *args, **kwargs) -> T:
    """Run ``fn`` on the process's one compute thread and wait for its result.

    Called from the compute thread itself (a model call inside a model call), it
    runs ``fn`` directly instead of waiting on itself.
    """
    if on_compute_thread():
        return fn(*args, **kwargs)
    return submit(fn, *args, **kwargs).result()


class Batcher(Generic[T, R]):
    """Requests that arrive while the compute thread is busy, handled together.

    ``handle`` takes a list of requests and returns one result per request. Each
    :meth:`run` queues its request and one drain on the compute thread; a drain
    takes up to ``max_batch`` waiting requests (later drains find the queue empty
    when an earlier one took theirs). A caller that stops waiting (``timeout``)
    cancels its request: if still queued, it is dropped rather than computed for
    nobody.
    """

    def __init__(self, handle: Callable[[list[T]], list[R]], max_batch: int = 16) -> None:
        self.handle = handle
        self.max_batch = max_batch
        self._pending: list[tuple[T, Future]] = []
        self._lock = threading.Lock()

    @property
    def waiting(self) -> int:
        """Requests queued and not yet taken by a drain."""
        return len(self._pending)

    def run(self, request: T, timeout: float | None = None) -> R:
        """The result of ``request``; ``TimeoutError`` after ``timeout`` seconds."""
        if on_compute_thread():
            return self.handle([request])[0]
        future: Future = Future()
        with self._lock:
            self._pending.append((request, future))
        submit(self._drain)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()  # the caller is gone: a request still queued is dropped
            raise

    def _drain(self) -> None:
        with self._lock:
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
        batch = [(r, f) for r, f in batch if f.set_running_or_notify_cancel()]
        if not batch:
            return
        try:
            results = self.handle([r for r, _ in batch])
        except BaseException as exc:  # every waiting caller learns of it
            for _, future in batch:
                future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)
