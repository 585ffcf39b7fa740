"""Logging that names its request and cannot be amplified.

Every line carries the id of the request being served (:class:`RequestIdFilter`). A
library that warns once per level of a crafted file (pypdf on a PDF nested 50,000 deep)
must not fill the disk: repeated records of one logger and template are collapsed
(:class:`RepeatFilter`), every record is cut to :data:`MAX_RECORD_CHARS`, and the root
logger gets a plain stream handler before the MCP SDK can install its rich one (which
failed with a recursion error on such records and printed a traceback each time:
2.75 GB of log in 84 s in an outside test).
"""

from __future__ import annotations

import copy
import logging
import time

from api.metrics import request_id

#: the longest message a record may carry; the rest is cut
MAX_RECORD_CHARS = 2_000


class RequestIdFilter(logging.Filter):
    """Puts the id of the request being served (``-`` outside one) on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class RepeatFilter(logging.Filter):
    """At most ``burst`` records per logger and message template every ``window`` seconds;
    the next one let through says how many were dropped. Messages are cut to
    :data:`MAX_RECORD_CHARS`."""

    def __init__(self, burst: int = 5, window: float = 60.0, max_keys: int = 1_000) -> None:
        super().__init__()
        self.burst, self.window, self.max_keys = burst, window, max_keys
        self._seen: dict[tuple[str, str], list[float | int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        key = (record.name, str(record.msg)[:200])
        if len(self._seen) >= self.max_keys and key not in self._seen:
            self._seen.clear()  # bounded memory; worst case a few repeats get through
        start, count, dropped = self._seen.setdefault(key, [now, 0, 0])
        if now - start > self.window:
            start, count = now, 0
        if count >= self.burst:
            self._seen[key] = [start, count, dropped + 1]
            return False
        self._seen[key] = [start, count + 1, 0]
        message = record.getMessage()
        if dropped:
            message += f" ({dropped} more like it dropped)"
        if len(message) > MAX_RECORD_CHARS:
            message = message[:MAX_RECORD_CHARS] + f"… ({len(message)} characters)"
        record.msg, record.args = message, None
        return True


def log_config() -> dict:
    """uvicorn's logging with the request id on every line, the access line included
    (uvicorn writes it while the request's context is current); the service's own ``rag``
    loggers on the same handler at INFO, and every other library's warnings through the
    root logger on it too, repeats collapsed (access lines are each their own)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"request_id": {"()": RequestIdFilter}, "repeats": {"()": RepeatFilter}}
    for handler in config["handlers"].values():
        handler["filters"] = ["request_id"]
    config["handlers"]["default"]["filters"].append("repeats")
    config["root"] = {"handlers": ["default"], "level": "WARNING"}
    config["formatters"]["default"]["fmt"] = "%(levelprefix)s [%(request_id)s] %(message)s"
    config["formatters"]["access"]["fmt"] = (
        '%(levelprefix)s [%(request_id)s] %(client_addr)s - "%(request_line)s" %(status_code)s'
    )
    config["loggers"]["rag"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def stderr_logging(level: int = logging.WARNING) -> None:
    """Plain warnings on stderr, repeats collapsed: for ``rag mcp``, whose stdout carries
    the protocol (and before the MCP SDK would install its own handler)."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RepeatFilter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
