"""Issue 32's attacks on a real ``rag serve`` (``python -m benchmarks attack``, shortened):
each is refused or served within its limit, and ``/ask`` answers within 1 s throughout.

The server has a key, 8 slots (4 for writes), 2 s of grace for a body and a 1 s rate
window, so that an attack is over in seconds.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from benchmarks import attacks
from benchmarks.server import Server

pytestmark = pytest.mark.server

MULTIPART = attacks.MULTIPART


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    env = {"RAG_MAX_IN_FLIGHT": "8", "RAG_BODY_TIMEOUT": "2", "RAG_BODY_RATE_WINDOW": "1"}
    with attacks.attacked_server(tmp_path_factory.mktemp("attacked"), env) as s:
        yield s


def _asked_within_a_second(report: dict) -> None:
    ask = report["ask"]
    assert ask["calls"] >= 3 and ask["statuses"] == {200: ask["calls"]}, ask
    assert ask["max_s"] < 1.0, ask


@pytest.mark.parametrize(
    ("path", "headers", "answers"),
    [
        # the 4 that got a write slot are dropped at the first judgement, after 2 s of
        # grace; the others were refused at once
        ("/documents/files", MULTIPART, {"408": 4, "503": 12}),
        # read ahead before any slot is taken, within 2 s in all
        ("/mcp", attacks.MCP_HEADERS, {"408": 16}),
    ],
    ids=["files", "mcp"],
)
def test_bodies_trickling_a_byte_at_a_time_are_dropped(server, path, headers, answers):
    """16 authorised bodies sending a byte every 0.5 s (issue 32, item 4: they held every
    write slot for as long as they liked): those holding a slot get 408 once the grace is
    over, and writes get through again."""

    def attack() -> dict:
        return attacks.trickle(
            server.port,
            path,
            connections=16,
            every=0.5,
            seconds=8,
            headers={**headers, **attacks.AUTH},
        )

    report = attacks.under_attack(server.base, attack)
    assert report["attack"]["answers"] == answers, report
    assert report["attack"]["last_answer_s"] < 4, report
    _asked_within_a_second(report)
    with httpx.Client(base_url=server.base, timeout=60) as client:
        assert attacks.authorised_write(client) in (200, 201), "the write slots are free"


def test_writers_without_the_key_are_refused_before_they_hold_a_slot(server):
    """16 uploads without the key, stalled after their first byte, and 16 MCP
    add_document calls without it: refused at once, none holds a write slot, and every
    authorised write meanwhile succeeds."""

    def attack() -> dict:
        uploads = attacks.trickle(
            server.port, "/documents/files", connections=16, every=0.5, seconds=8, headers=MULTIPART
        )
        with httpx.Client(base_url=server.base, timeout=60) as client:
            adds = [attacks.mcp_call(client, "add_document", {"text": "x"}) for _ in range(16)]
        uploads["mcp_refused"] = sum("required" in r.text and r.status_code == 200 for r in adds)
        return uploads

    report = attacks.under_attack(server.base, attack, seconds=3)
    rounds = report["attack"]["rounds"]
    assert report["attack"]["answers"] == {"401": 16 * rounds}, report
    assert report["attack"]["last_answer_s"] < 1, report
    assert report["attack"]["mcp_refused"] == 16 * rounds, report
    _asked_within_a_second(report)
    writes = report["writes"]
    assert set(writes["statuses"]) <= {200, 201}, writes


def test_event_streams_and_mcp_questions_take_no_write_slot(server):
    """30 GET /mcp event streams (item 3) are 405 at once; 7 MCP questions at once fit
    the read slots (item 5: they were counted against the 4 write slots)."""
    report = attacks.under_attack(
        server.base, lambda: attacks.streams(server.port, connections=30, seconds=8), seconds=2
    )
    assert report["attack"]["answers"] == {"405": 30 * report["attack"]["rounds"]}, report
    assert report["attack"]["last_answer_s"] < 1, report
    _asked_within_a_second(report)
    asked = attacks.mcp_asks(server.base, concurrent=7)
    assert asked["statuses"] == {200: 7}, asked
