"""Logging that a crafted file cannot amplify (api/logs.py): repeats collapsed, records
cut, and no handler of the MCP SDK's on the root logger."""

from __future__ import annotations

import io
import logging
import logging.config

import pytest

from api.logs import MAX_RECORD_CHARS, RepeatFilter, log_config


@pytest.fixture
def root_logger():
    """The root logger, given back as it was (other tests capture through it)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_warning_repeated_ten_thousand_times_is_logged_a_few_times():
    """pypdf warned once per level of a PDF nested 50,000 deep."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RepeatFilter(burst=5, window=60))
    log = logging.getLogger("test.pypdf-like")
    log.addHandler(handler)
    log.propagate = False
    try:
        for depth in range(10_000):
            log.warning("Ignoring wrong pointing object %d 0 (offset 0)", depth)
        log.warning("x" * 100_000)
    finally:
        log.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 6, "five of the repeated warning, one of the long one"
    assert len(lines[-1]) < MAX_RECORD_CHARS + 50
    assert len(stream.getvalue()) < 10_000


def test_the_served_log_has_a_plain_root_handler_the_mcp_sdk_keeps(root_logger):
    """The MCP SDK calls logging.basicConfig with a rich handler, which failed with a
    recursion error on deeply nested records (a traceback per record): with the service's
    log config applied first, the root logger keeps its own handler."""
    from api.mcp import create_mcp

    config = log_config()
    assert config["root"]["handlers"] == ["default"]
    assert "repeats" in config["handlers"]["default"]["filters"]
    # the root part alone: the uvicorn and rag loggers of this test process stay as they are
    root_only = {k: v for k, v in config.items() if k != "loggers"}
    root_logger.handlers.clear()
    logging.config.dictConfig({**root_only, "disable_existing_loggers": False})
    create_mcp(lambda: None)
    handlers = root_logger.handlers
    assert handlers and not [h for h in handlers if "Rich" in type(h).__name__]
    assert any(isinstance(f, RepeatFilter) for h in handlers for f in h.filters)
