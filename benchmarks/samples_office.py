"""Sample DOCX, PPTX, XLSX and CSV files, each holding one checkable fact away from its
start, written with python-docx, python-pptx, openpyxl and csv themselves.

Each file has distractors around its fact (sections of prose, slides, sheets and rows
about other made-up places), and the fact sits where its location matters: a Word
document's non-first section (in a paragraph or a table), a deck's non-first slide (in
its bullets, a table or the speaker notes), a workbook's non-first sheet (at times below
an empty first row), a CSV's fourth row or later (comma, semicolon or tab separated).

Usage::

    samples = make_samples(Path("corpus"), per_format=10, seed=0)
    samples[0].question, samples[0].answer, samples[0].location
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

from benchmarks.sample_text import Table, Words
from benchmarks.samples import Sample

_SECTIONS = ["services", "finances", "programme", "district", "outreach", "facilities"]


def _cell(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _with_fact(words: Words, sentences: int, fact: str) -> str:
    """A paragraph of distractors with ``fact`` at a random place among them."""
    parts = [words.sentence() for _ in range(sentences)]
    parts.insert(words.rng.randint(0, sentences), fact)
    return " ".join(parts)


def _docx_table(document, table: Table) -> None:
    grid = document.add_table(rows=1 + len(table.rows), cols=len(table.headers))
    for r, row in enumerate([table.headers, *table.rows]):
        for c, value in enumerate(row):
            grid.cell(r, c).text = _cell(value)


def _docx(words: Words, path: Path, variant: int) -> Sample:
    """A handbook: a title, an introduction, 3-5 sections of 1-3 subsections each; the
    fact in a subsection of a section after the first (every third file: a table)."""
    import docx

    rng = words.rng
    document = docx.Document()
    document.core_properties.title = f"{words.name()} municipal handbook"
    document.core_properties.author = words.person()
    document.core_properties.created = dt.datetime(2024, rng.randint(1, 12), rng.randint(1, 28))
    document.add_paragraph(document.core_properties.title, style="Title")
    document.add_paragraph(words.paragraph(3))
    sections = rng.randint(3, 5)
    at = (rng.randint(1, sections - 1), rng.randint(0, 2))
    for s in range(sections):
        h1 = f"{words.name()} {rng.choice(_SECTIONS)}"
        document.add_heading(h1, 1)
        document.add_paragraph(words.paragraph(3))
        for k in range(max(at[1] + 1, rng.randint(1, 3)) if s == at[0] else rng.randint(1, 3)):
            h2 = f"{words.name()} {rng.choice(_SECTIONS)}"
            document.add_heading(h2, 2)
            if (s, k) != at:
                document.add_paragraph(words.paragraph(rng.randint(3, 6)))
                continue
            location = {"headings": [h1, h2]}
            if variant % 3 == 2:
                fact = words.table(rng.randint(6, 12))
                document.add_paragraph(words.paragraph(2))
                _docx_table(document, fact)
            else:
                fact = words.fact()
                document.add_paragraph(_with_fact(words, rng.randint(3, 5), fact.text))
            document.add_paragraph(words.paragraph(2))
    document.save(path)
    return Sample(path, fact.question, fact.answer, location)


def _pptx(words: Words, path: Path, variant: int) -> Sample:
    """A deck of 4-7 slides (title slide first); the fact on a later slide: in its
    bullets, a table or its speaker notes, by ``variant``."""
    from pptx import Presentation
    from pptx.util import Inches

    rng = words.rng
    deck = Presentation()
    deck.core_properties.author = words.person()
    first = deck.slides.add_slide(deck.slide_layouts[0])
    first.shapes.title.text = f"{words.name()} quarterly review"
    first.placeholders[1].text = words.sentence()
    count = rng.randint(4, 7)
    at = rng.randint(2, count)
    for number in range(2, count + 1):
        kind = variant % 3 if number == at else 0
        slide = deck.slides.add_slide(deck.slide_layouts[5 if kind == 1 else 1])
        slide.shapes.title.text = f"{words.name()} {rng.choice(_SECTIONS)}"
        bullets = [words.sentence() for _ in range(rng.randint(2, 4))]
        if kind == 0 and number == at:
            fact = words.fact()
            bullets.insert(rng.randint(0, len(bullets)), fact.text)
        if kind == 1:
            fact = words.table(rng.randint(5, 8))
            rows = [fact.headers, *[[_cell(v) for v in row] for row in fact.rows]]
            size = (Inches(0.5), Inches(1.5), Inches(9), Inches(0.4) * len(rows))
            grid = slide.shapes.add_table(len(rows), len(fact.headers), *size).table
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    grid.cell(r, c).text = value
        else:
            slide.placeholders[1].text = "\n".join(bullets)
        if kind == 2:
            fact = words.fact()
            notes = _with_fact(words, 2, fact.text)
        else:
            notes = words.paragraph(2) if rng.random() < 0.5 else ""
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    deck.save(path)
    return Sample(path, fact.question, fact.answer, {"slide": at})


def _xlsx(words: Words, path: Path, variant: int) -> Sample:
    """A workbook: a notes sheet, the fact's register on the second or third sheet
    (below an empty first row in every other file), another register beside it."""
    import openpyxl

    rng = words.rng
    workbook = openpyxl.Workbook()
    notes = workbook.active
    notes.title = "Notes"
    notes.append(["Note"])
    for _ in range(rng.randint(3, 6)):
        notes.append([words.sentence()])
    fact = words.table(rng.randint(8, 30))
    other = words.table(rng.randint(8, 30))
    sheets = [fact, other] if rng.random() < 0.5 else [other, fact]
    for table in sheets:
        title = table.title if table is fact or other.title != fact.title else "Archive"
        sheet = workbook.create_sheet(title)
        if table is fact and variant % 2:
            sheet.append([])
        sheet.append(table.headers)
        for row in table.rows:
            sheet.append(row)
        if table is fact:
            location = {"sheet": title, "row": sheet.max_row - len(table.rows) + fact.fact_row + 1}
    workbook.properties.creator = words.person()
    workbook.save(path)
    return Sample(path, fact.question, fact.answer, location)


def _csv(words: Words, path: Path, variant: int) -> Sample:
    """A register as CSV: comma, semicolon or tab separated by ``variant``; header row 1."""
    fact = words.table(words.rng.randint(8, 40))
    delimiter = ",;\t"[variant % 3]
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, delimiter=delimiter)
        writer.writerow(fact.headers)
        writer.writerows([[_cell(v) for v in row] for row in fact.rows])
    return Sample(path, fact.question, fact.answer, {"row": fact.fact_row + 2})


_MAKERS = {"docx": _docx, "pptx": _pptx, "xlsx": _xlsx, "csv": _csv}


def make_samples(folder: Path, per_format: int = 10, seed: int = 0) -> list[Sample]:
    """Write ``per_format`` files of each of DOCX, PPTX, XLSX and CSV into ``folder``
    (created if needed), each with one fact; the samples, in the order written. The same
    ``seed`` writes the same facts."""
    folder.mkdir(parents=True, exist_ok=True)
    words = Words(random.Random(seed))
    samples = []
    for suffix, make in _MAKERS.items():
        for i in range(per_format):
            samples.append(make(words, folder / f"{suffix}-sample-{i:02d}.{suffix}", i))
    return samples
