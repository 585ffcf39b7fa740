"""The office sample corpus (benchmarks/samples_office.py): ten files of each format
whose facts are where their samples say, and a few of them indexed through the real
pipeline, answered and cited with the right ``location`` (issue 37, items 1 and 3)."""

from __future__ import annotations

from collections import Counter

import pytest

from benchmarks.formats import judge
from benchmarks.samples_office import make_samples
from rag.core.locations import location_at
from rag.core.settings import Settings
from rag.documents import ingest


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_samples(tmp_path_factory.mktemp("office"), per_format=10, seed=0)


def test_ten_files_of_each_format_each_hold_their_fact_where_the_sample_says(corpus):
    assert Counter(s.path.suffix for s in corpus) == {
        ".docx": 10,
        ".pptx": 10,
        ".xlsx": 10,
        ".csv": 10,
    }
    assert len({s.question for s in corpus}) == 40, "every question has one file"
    for sample in corpus:
        document = ingest.read_file(sample.path)
        text = document.text
        places = [i for i in range(len(text)) if text.startswith(sample.answer, i)]
        assert places, sample
        assert sample.location in [location_at(document.regions, i) for i in places], sample
        assert sample.location not in ({"slide": 1}, {"row": 2}), "the fact is not first"


@pytest.mark.model
def test_office_samples_are_answered_and_cited_at_their_location(tmp_path, make_pipeline):
    samples = make_samples(tmp_path / "docs", per_format=2, seed=0)
    pipeline = make_pipeline(Settings(docs_dir=tmp_path / "docs", index_dir=tmp_path / "index"))
    results, errors = pipeline.index_paths([tmp_path / "docs"])
    assert (len(results), errors) == (8, []), "read by the bounded workers"
    verdicts = [judge(pipeline, sample) for sample in samples]
    assert [v for v in verdicts if not v["located"]] == [], "answered, in its file, at its place"
