"""HTML and PDF parsed in bounded workers: crafted files refused with one line naming
the file and, past a limit, the limit; a worker past its time limit killed and replaced
(issue 31). The memory limit is tested against a real server (tests/api/test_hostile.py)."""

from __future__ import annotations

import threading
import time

import pytest

from rag.core.errors import IngestError, LimitExceeded, ShuttingDown
from rag.documents import ingest
from rag.documents.parsing import ParseLimits, Parser
from tests.support import hostile
from tests.support.pdfs import make_pdf
from tests.support.processes import parse_workers

#: What each crafted PDF of the outside test becomes: a line saying so (a 413 when it is
#: a limit), or None when pypdf reads it fine (the nesting is ignored).
EXPECTED = {
    "parent-cycle": (IngestError, "cyclic page references"),
    "self-reference": (IngestError, "no text layer"),
    "nested-content": (IngestError, "nested too deeply"),
    "long-length": (LimitExceeded, "exceeds maximum allowed length"),
    "junk-encryption": (IngestError, "encryption"),
    "unknown-filter": (IngestError, "Unsupported filter /NoSuchDecode"),
    "bad-predictor": (IngestError, "/Columns"),
    "nested-dictionary": None,
    "flate-bomb": (LimitExceeded, "Limit reached while decompressing"),
}
LIMITS = ParseLimits(seconds=2, memory_mb=512, max_pages=300, max_text_bytes=256 * 1024, workers=2)


@pytest.fixture(scope="module")
def parser():
    bounded = Parser(LIMITS)
    yield bounded
    bounded.stop()


@pytest.mark.parametrize("kind", sorted(hostile.HOSTILE_PDFS))
def test_a_crafted_pdf_is_one_line_of_refusal_here_and_in_the_worker(parser, kind):
    data, name = hostile.HOSTILE_PDFS[kind](), f"{kind}.pdf"
    outcomes = []
    for read in (ingest.read_bytes, parser.read_bytes):
        started = time.perf_counter()
        try:
            outcomes.append(read(data, name).text)
        except IngestError as exc:
            outcomes.append((type(exc), str(exc)))
        assert time.perf_counter() - started < LIMITS.seconds + 1
    assert outcomes[0] == outcomes[1], "the worker says what the parser says"
    if EXPECTED[kind] is None:
        assert outcomes[0] == "Hostile but readable"
        return
    cls, message = outcomes[0]
    assert cls is EXPECTED[kind][0] and EXPECTED[kind][1] in message
    assert message.startswith(f"{name}: ") and "\n" not in message


def test_a_slow_pdf_is_stopped_at_the_time_limit_and_the_next_file_parsed(parser):
    started = time.perf_counter()
    with pytest.raises(LimitExceeded, match=r"^slow\.pdf: PDF parsing exceeded 2 s$"):
        parser.read_bytes(hostile.slow_pdf(200), "slow.pdf")
    assert time.perf_counter() - started < LIMITS.seconds + 1.5
    good = parser.read_bytes(make_pdf([["Owls nest on the tundra."]]), "owls.pdf")
    assert good.text == "Owls nest on the tundra.", "a fresh worker took over"


def test_pages_and_text_past_their_limits_are_refused_naming_them(parser):
    with pytest.raises(LimitExceeded, match=r"^long\.pdf: more than 300 pages \(301\)$"):
        parser.read_bytes(make_pdf([["A page."]] * 301), "long.pdf")
    line = "A line of a report that runs on and on, " * 6
    many = make_pdf([[f"{i} {line}" for i in range(45)]] * 25)  # 25 pages of 11 kB
    with pytest.raises(LimitExceeded, match=r"^many\.pdf: extracted text over 0\.25 MB$"):
        parser.read_bytes(many, "many.pdf")
    with pytest.raises(LimitExceeded, match=r"^big\.txt: extracted text over 0\.25 MB$"):
        parser.read_bytes(b"word " * 60_000, "big.txt")
    with pytest.raises(LimitExceeded, match=r"^the text is over 0\.25 MB$"):
        parser.make_document("word " * 60_000, source="mcp")


def test_stop_ends_a_parse_under_way_at_once_and_leaves_no_worker():
    before = parse_workers()  # the module's parser's
    bounded = Parser(ParseLimits(seconds=60))
    bounded.read_bytes(make_pdf([["Warm."]]), "warm.pdf")  # a worker is up
    outcome: list[Exception] = []

    def parse() -> None:
        try:
            bounded.read_bytes(hostile.slow_pdf(400), "slow.pdf")
        except (IngestError, ShuttingDown) as exc:
            outcome.append(exc)

    thread = threading.Thread(target=parse)
    thread.start()
    time.sleep(0.5)
    started = time.perf_counter()
    bounded.stop()
    thread.join(5)
    assert time.perf_counter() - started < 2
    assert isinstance(outcome[0], ShuttingDown)
    assert str(outcome[0]) == "the service is shutting down; retry"
    assert parse_workers() <= before, "every worker of its own was killed"
    with pytest.raises(ShuttingDown):
        bounded.read_bytes(make_pdf([["Too late."]]), "late.pdf")
