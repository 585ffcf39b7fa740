"""Citations say where their passage is in its file (issue 37, item 3), end to end."""

from __future__ import annotations

import pytest

from tests.support.samples import report

HANDBOOK = """# Staff handbook

Welcome to the Zorblax staff handbook. It covers how we work.

## Leave

### Notice

Staff give notice of leave to Ilse Varmann, the office manager, two weeks ahead.

## Pay

Salaries are paid on the 25th day of each month by bank transfer.
"""


@pytest.fixture
def indexed(settings, make_pipeline, tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "handbook.md").write_text(HANDBOOK)
    (folder / "annual-report.pdf").write_bytes(report())
    pipeline = make_pipeline(settings.model_copy(update={"docs_dir": folder}))
    assert pipeline.ensure_index() == 2
    return pipeline


@pytest.mark.model
def test_a_citation_names_the_heading_path_or_the_page_of_its_answer(indexed):
    handbook = indexed.ask("Who do staff give notice of leave to?")
    assert "Ilse Varmann" in handbook.answer
    (source, *_) = handbook.answers[0].sources
    assert source.location == {"headings": ["Staff handbook", "Leave", "Notice"]}
    pdf = indexed.ask("Who reported a surplus of 3,200 euros?")
    assert pdf.answer == "Mira Tamm"
    assert pdf.answers[0].sources[0].location == {"page": 3}
    assert all(p.location is None or set(p.location) <= {"page", "headings"} for p in pdf.passages)
