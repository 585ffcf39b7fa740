"""Locations: regions from extractors, checked, cut per passage, and written as people do."""

from __future__ import annotations

from rag.core import locations
from rag.core.locations import checked, describe, location_at, merged, regions_within
from rag.documents.chunking import Chunker
from rag.documents.ingest import heading_regions, read_bytes

REGIONS = ((0, {"slide": 1}), (50, {"slide": 2}), (120, {"slide": 3}))


def test_a_location_is_the_region_that_holds_the_offset():
    assert location_at(REGIONS, 0) == {"slide": 1}
    assert location_at(REGIONS, 49) == {"slide": 1}
    assert location_at(REGIONS, 50) == {"slide": 2}
    assert location_at(REGIONS, 10_000) == {"slide": 3}
    assert location_at(((5, {"page": 1}),), 2) is None, "before the first region"


def test_a_passage_keeps_the_regions_it_overlaps_and_a_document_gets_them_back():
    assert regions_within(REGIONS, 60, 130) == REGIONS[1:]
    assert regions_within(REGIONS, 10, 50) == REGIONS[:1], "a region starting at the end"
    assert regions_within((), 0, 10) == ()
    assert merged([regions_within(REGIONS, 0, 60), regions_within(REGIONS, 55, 200)]) == REGIONS


def test_regions_from_a_worker_are_checked():
    raw = [
        [0, {"sheet": "Prices", "row": 2, "evil": "<script>"}],
        [0, {"row": 3}],  # not increasing
        ["5", {"row": 4}],  # not an int offset
        [9, {"row": -1}],  # nothing valid left
        [10, {"headings": ["A", 7, " B "], "part": "x" * 500}],
        [99, {"page": 1}],  # past the text
        "junk",
    ]
    assert checked(raw, 50) == (
        (0, {"sheet": "Prices", "row": 2}),
        (10, {"part": "x" * locations.MAX_STRING, "headings": ["A", "B"]}),
    )
    assert checked({"not": "a list"}, 10) == ()


def test_a_passage_of_very_many_rows_keeps_its_regions_under_the_bound():
    many = tuple((i, {"sheet": "S" * 30, "row": i + 1}) for i in range(5_000))
    kept = regions_within(many, 0, 5_000)
    assert kept[0] == many[0]
    assert len(locations.dumps(kept).encode()) <= locations.MAX_REGIONS_BYTES


def test_locations_are_written_as_people_write_them():
    assert describe({"sheet": "Prices", "row": 14}) == "Prices!A14"
    assert describe({"row": 14}) == "row 14"
    assert describe({"slide": 2}) == "slide 2"
    assert describe({"page": 3}) == "page 3"
    assert describe({"headings": ["Scope", "Notice"]}) == "Scope › Notice"
    assert describe({"part": "attachment.txt"}) == "attachment.txt"
    assert describe(None) == ""


def test_markdown_headings_give_each_passage_its_heading_path():
    text = (
        "# Handbook\n\nIntro.\n\n## Scope\n\nAll staff.\n\n"
        "### Notice\n\nTwo weeks.\n\n## Pay\n\nMonthly."
    )
    assert [r[1]["headings"] for r in heading_regions(text)] == [
        ["Handbook"],
        ["Handbook", "Scope"],
        ["Handbook", "Scope", "Notice"],
        ["Handbook", "Pay"],
    ]
    document = read_bytes(text.encode(), "handbook.md")
    at = document.text.index("Two weeks")
    assert location_at(document.regions, at) == {"headings": ["Handbook", "Scope", "Notice"]}
    chunks = Chunker(target_words=3, max_words=6, overlap_words=0).split(document)
    holding = next(c for c in chunks if "Two weeks" in c.text)
    assert location_at(holding.regions, at)["headings"][-1] == "Notice"
    assert read_bytes(b"# Not a heading in text", "notes.txt").regions == ()
