"""Long texts split into passages by a parse worker (issue 37, item 5): the very passages
the chunker cuts in-process, within a time limit that grows with the text, and stopped
at once on shutdown."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from rag.core.errors import LimitExceeded, ShuttingDown
from rag.documents import ingest
from rag.documents.chunking import Chunker
from rag.documents.parsing import SPLIT_IN_PROCESS_CHARS, ParseLimits, Parser
from tests.support.paths import SEEDS
from tests.support.processes import parse_workers
from tests.support.texts import many_sentences

CHUNKERS = [Chunker(), Chunker(target_words=60, max_words=80, overlap_words=10, max_chars=500)]


@pytest.fixture(scope="module")
def everywhere() -> Iterator[Parser]:
    """A parser that splits every text, however short, in a worker."""
    parser = Parser(split_here=0)
    yield parser
    parser.stop()


def _awkward_text() -> str:
    """Sentences, and what could shift an offset between two processes: characters of 2,
    3 and 4 UTF-8 bytes, tabs, a long unbroken word, a line of many short sentences (cut
    into blocks for pysbd), Windows line ends (cleaned) and blank lines."""
    odd = "Naïve café owners in Tōkyō met 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 fans 😀 at 9 a.m.\tThey left. "
    return "\r\n".join(
        [
            "Awkward text",
            odd * 40,
            "x" * 5_000 + " ends here.",
            "a. " * 3_000,
            "",
            "",
            many_sentences(150_000, seed=3),
        ]
    )


@pytest.mark.parametrize("chunker", CHUNKERS, ids=["default", "small"])
def test_the_worker_cuts_the_seeds_as_the_chunker_does(everywhere, chunker):
    seeds = sorted(SEEDS.glob("*.txt"))
    assert seeds
    for path in seeds:
        document = ingest.read_file(path)
        assert everywhere.split(chunker, document) == chunker.split(document), path.name


@pytest.mark.parametrize("chunker", CHUNKERS, ids=["default", "small"])
def test_a_long_text_is_split_by_a_worker_into_the_same_passages(chunker):
    document = ingest.make_document(_awkward_text(), source="test")
    assert len(document.text) > SPLIT_IN_PROCESS_CHARS
    before = parse_workers()
    parser = Parser()  # the default threshold: this text goes to a worker
    try:
        split = parser.split(chunker, document)
        assert parse_workers() - before, "a worker did the splitting"
    finally:
        parser.stop()
    assert split == chunker.split(document)
    assert all(document.text[c.start : c.end] == c.text for c in split)


def test_a_short_text_is_split_here_without_a_worker():
    before = parse_workers()
    parser = Parser()
    document = ingest.make_document("Owls\n\nOwls nest on the tundra. They hunt lemmings.")
    assert parser.split(Chunker(), document) == Chunker().split(document)
    assert parse_workers() == before
    parser.stop()


def test_the_time_a_split_may_take_grows_with_the_text():
    parser = Parser(ParseLimits(seconds=20))
    assert parser.split_seconds(1_000) == 20, "at least RAG_PARSE_SECONDS"
    assert parser.split_seconds(5 << 20) == 100, "RAG_PARSE_SECONDS a MB"


def test_a_split_past_its_time_is_refused_naming_the_limit_and_the_next_one_done():
    parser = Parser(ParseLimits(seconds=0.3), split_here=0)
    try:
        slow = ingest.make_document(many_sentences(2_000_000))  # about 8 s to split
        started = time.perf_counter()
        with pytest.raises(
            LimitExceeded,
            match=r"^splitting the text into passages exceeded 0\.\d+ s "
            r"\(RAG_PARSE_SECONDS: 0\.3 s a MB\)$",
        ):
            parser.split(Chunker(), slow)
        assert time.perf_counter() - started < 4, "stopped at its limit, not at its end"
        quick = ingest.make_document("Owls\n\nOwls nest on the tundra.")
        assert parser.split(Chunker(), quick) == Chunker().split(quick), "a fresh worker"
    finally:
        parser.stop()


def test_stop_ends_a_split_under_way_at_once():
    before = parse_workers()
    parser = Parser()
    document = ingest.make_document(many_sentences(2_000_000))  # about 8 s to split
    outcome: list[Exception] = []

    def split() -> None:
        try:
            parser.split(Chunker(), document)
        except ShuttingDown as exc:
            outcome.append(exc)

    thread = threading.Thread(target=split)
    thread.start()
    deadline = time.monotonic() + 30
    while not parse_workers() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    started = time.perf_counter()
    parser.stop()
    thread.join(5)
    assert time.perf_counter() - started < 1
    assert [str(e) for e in outcome] == ["the service is shutting down; retry"]
    assert parse_workers() <= before, "the worker was killed"
