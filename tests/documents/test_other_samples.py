"""The sample corpus of ODT, ODS, ODP, EPUB, EML, RTF, HTML and Markdown files
(benchmarks/samples_other.py): each file's fact is where its sample says, in the text the
extractors return; and, with the models, indexed offline and asked, each question is
answered with the right citation ``location``."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.samples_other import make_samples
from rag.core.locations import location_at
from rag.documents import ingest
from rag.evaluation.squad import normalize_answer

FORMATS = {".odt", ".ods", ".odp", ".epub", ".eml", ".rtf", ".html", ".md"}


def test_each_samples_fact_is_in_its_file_at_its_location(tmp_path):
    samples = make_samples(tmp_path, per_format=3, seed=7)
    assert {s.path.suffix for s in samples} == FORMATS and len(samples) == 24
    for sample in samples:
        document = ingest.read_file(sample.path)
        at = document.text.find(sample.answer)
        found = []
        while at >= 0:
            found.append(location_at(document.regions, at))
            at = document.text.find(sample.answer, at + 1)
        assert sample.location in found, (sample.path.name, sample.answer, found)
        first = location_at(document.regions, 0)
        assert sample.location != first, f"{sample.path.name}: the fact is not at the start"


def test_the_same_seed_writes_the_same_facts(tmp_path):
    one = make_samples(tmp_path / "a", per_format=1, seed=3)
    two = make_samples(tmp_path / "b", per_format=1, seed=3)
    assert [(s.question, s.answer, s.location) for s in one] == [
        (s.question, s.answer, s.location) for s in two
    ]
    assert [s.path.read_bytes() for s in one if s.path.suffix != ".eml"] == [
        s.path.read_bytes() for s in two if s.path.suffix != ".eml"
    ]


@pytest.mark.model
def test_questions_are_answered_with_the_right_location(tmp_path, make_pipeline):
    """Indexed offline and asked: a right answer from the right file always names the
    fact's location, and most answers are right (the benchmark, ``python -m benchmarks
    formats``, measures how many: docs/formats.md)."""
    from rag.core.settings import Settings

    folder = tmp_path / "files"
    samples = make_samples(folder, per_format=2, seed=0)
    pipeline = make_pipeline(Settings(docs_dir=folder, index_dir=tmp_path / "index"))
    _, errors = pipeline.index_paths([folder])
    assert not errors
    right, wrong_place = 0, []
    for sample in samples:
        result = pipeline.ask(sample.question)
        if result.answer is None or normalize_answer(sample.answer) not in (
            normalize_answer(result.answer)
        ):
            continue
        source = result.answers[0].sources[0]
        if Path(pipeline.store.document(source.doc_id).source) != sample.path:
            continue
        right += 1
        if source.location != sample.location:
            wrong_place.append((sample.path.name, source.location, sample.location))
    assert not wrong_place, "a right answer cited at the wrong place"
    assert right >= 12, f"{right} of {len(samples)} answered from the right file"
