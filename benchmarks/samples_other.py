"""Sample ODT, ODS, ODP, EPUB, EML, RTF, HTML and Markdown files, each holding one
checkable fact away from its start, and the location a citation of it must name.

The files are real: ODF and EPUB zips laid out as their specifications say, e-mail from
the standard library's :class:`~email.message.EmailMessage`, RTF with heading styles as
Word writes them (:mod:`benchmarks.other_writers`). Each holds distractor prose about
other made-up places (:mod:`benchmarks.sample_text`), and its fact sits where the
location matters: a non-first section of a text (ODT, EPUB, RTF, HTML, Markdown: its
heading path), a non-first sheet (ODS, at times below an empty first row), a non-first
slide or its notes (ODP), an attachment or a forwarded message of an e-mail.

Usage::

    samples = make_samples(Path("corpus"), per_format=10, seed=0)
    samples[0].question, samples[0].answer, samples[0].location
"""

from __future__ import annotations

import random
from pathlib import Path

from benchmarks import other_writers as write
from benchmarks.sample_text import _CODAS, _ONSETS, _VOWELS, Table, Words
from benchmarks.samples import Sample

_SECTIONS = ["services", "finances", "programme", "district", "outreach", "facilities"]


class _Names(Words):
    """:class:`Words` whose names have three syllables: the office samples' mostly have
    two, so that a corpus of both holds no name twice (a question names one place)."""

    def name(self) -> str:
        while True:
            word = "".join(
                self.rng.choice(_ONSETS) + self.rng.choice(_VOWELS) + self.rng.choice(_CODAS)
                for _ in range(3)
            ).capitalize()
            if 7 <= len(word) <= 12 and word not in self.used:
                self.used.add(word)
                return word


def _cell(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _grid(table: Table) -> list[list[str]]:
    return [table.headers] + [[_cell(v) for v in row] for row in table.rows]


def _with_fact(words: Words, sentences: int, fact: str) -> str:
    """A paragraph of distractors with ``fact`` at a random place among them."""
    parts = [words.sentence() for _ in range(sentences)]
    parts.insert(words.rng.randint(0, sentences), fact)
    return " ".join(parts)


def _outline(words: Words, tables: bool, variant: int) -> tuple[list, object, dict]:
    """A document as blocks: a title, 3-5 sections of 1-3 subsections (``("h1", …)``,
    ``("h2", …)``, ``("p", …)``); the fact in a subsection of a section after the first
    (a table every third document where ``tables``). The blocks, the fact, its location."""
    rng = words.rng
    title = f"{words.name()} municipal handbook"
    blocks: list = [("h1", title), ("p", words.paragraph(3))]
    sections = rng.randint(3, 5)
    at = (rng.randint(1, sections - 1), rng.randint(0, 2))
    fact, location = None, {}
    for s in range(sections):
        h2 = f"{words.name()} {rng.choice(_SECTIONS)}"
        blocks += [("h2", h2), ("p", words.paragraph(3))]
        for k in range(max(at[1] + 1, rng.randint(1, 3)) if s == at[0] else rng.randint(1, 3)):
            h3 = f"{words.name()} {rng.choice(_SECTIONS)}"
            blocks.append(("h3", h3))
            if (s, k) != at:
                blocks.append(("p", words.paragraph(rng.randint(3, 6))))
                continue
            location = {"headings": [title, h2, h3]}
            if tables and variant % 3 == 2:
                fact = words.table(rng.randint(6, 12))
                blocks += [("p", words.paragraph(2)), ("table", _grid(fact))]
            else:
                fact = words.fact()
                blocks.append(("p", _with_fact(words, rng.randint(3, 5), fact.text)))
            blocks.append(("p", words.paragraph(2)))
    return blocks, fact, location


def _odt(words: Words, path: Path, variant: int) -> Sample:
    blocks, fact, location = _outline(words, True, variant)
    path.write_bytes(write.make_odt(blocks, title=blocks[0][1], author=words.person()))
    return Sample(path, fact.question, fact.answer, location)


def _rtf(words: Words, path: Path, variant: int) -> Sample:
    blocks, fact, location = _outline(words, False, variant)
    paragraphs = [value if kind == "p" else (kind, value) for kind, value in blocks]
    path.write_bytes(write.make_rtf(paragraphs, title=blocks[0][1], author=words.person()))
    return Sample(path, fact.question, fact.answer, location)


def _markdown(words: Words, path: Path, variant: int) -> Sample:
    blocks, fact, location = _outline(words, False, variant)
    marks = {"h1": "# ", "h2": "## ", "h3": "### ", "p": ""}
    path.write_text("\n\n".join(marks[kind] + value for kind, value in blocks) + "\n")
    return Sample(path, fact.question, fact.answer, location)


def _html(words: Words, path: Path, variant: int) -> Sample:
    """A saved web page: navigation, a sidebar and a footer around the article."""
    blocks, fact, location = _outline(words, False, variant)
    body = "".join(f"<{kind}>{value}</{kind}>" for kind, value in blocks)
    path.write_text(
        f"<!DOCTYPE html><html><head><title>{blocks[0][1]}</title></head><body>"
        "<nav><a href='/'>Home</a> | <a href='/news'>News</a> | <a href='/about'>About</a></nav>"
        f"<main><article>{body}</article></main>"
        "<aside><h4>Related</h4><ul><li><a href='/x'>Other story</a></li></ul></aside>"
        "<footer>© City council. All rights reserved. Privacy policy.</footer></body></html>"
    )
    return Sample(path, fact.question, fact.answer, location)


def _epub(words: Words, path: Path, variant: int) -> Sample:
    """A book of 3-4 chapters (h1), each of sections (h2); the fact in a section of a
    chapter after the first."""
    rng = words.rng
    chapters, at = rng.randint(3, 4), (0, 0)
    at = (rng.randint(1, chapters - 1), rng.randint(0, 2))
    bodies, fact, location = [], None, {}
    for c in range(chapters):
        h1 = f"{words.name()} {rng.choice(_SECTIONS)}"
        parts = [f"<h1>{h1}</h1><p>{words.paragraph(3)}</p>"]
        for s in range(max(at[1] + 1, rng.randint(1, 3)) if c == at[0] else rng.randint(1, 3)):
            h2 = f"{words.name()} {rng.choice(_SECTIONS)}"
            paragraph = words.paragraph(rng.randint(3, 5))
            if (c, s) == at:
                fact, location = words.fact(), {"headings": [h1, h2]}
                paragraph = _with_fact(words, rng.randint(3, 5), fact.text)
            parts.append(f"<h2>{h2}</h2><p>{paragraph}</p><p>{words.paragraph(2)}</p>")
        bodies.append("".join(parts))
    title = f"The {words.name()} chronicle"
    path.write_bytes(write.make_epub(title, bodies, author=words.person()))
    return Sample(path, fact.question, fact.answer, location)


def _ods(words: Words, path: Path, variant: int) -> Sample:
    """A workbook: a notes sheet, the fact's register on the second or third sheet
    (below an empty first row in every other file), another register beside it, and
    LibreOffice's repeated empty rows after each."""
    rng = words.rng
    fact, other = words.table(rng.randint(8, 30)), words.table(rng.randint(8, 30))
    sheets = {"Notes": [["Note"]] + [[words.sentence()] for _ in range(rng.randint(3, 6))]}
    for table in [fact, other] if rng.random() < 0.5 else [other, fact]:
        title = table.title if table is fact or other.title != fact.title else "Archive"
        lead = [[""]] if table is fact and variant % 2 else []
        sheets[title] = lead + _grid(table)
        if table is fact:
            location = {"sheet": title, "row": len(lead) + 2 + fact.fact_row}
    tail = '<table:table-row table:number-rows-repeated="1048000"><table:table-cell/>'
    tail += "</table:table-row>"
    path.write_bytes(write.make_ods(sheets, title=f"{words.name()} registers", tail=tail))
    return Sample(path, fact.question, fact.answer, location)


def _odp(words: Words, path: Path, variant: int) -> Sample:
    """A deck of 4-7 slides; the fact on a slide after the first, in its bullets or (every
    third deck) its speaker notes."""
    rng = words.rng
    count = rng.randint(4, 7)
    at = rng.randint(2, count)
    fact = words.fact()
    slides = [([f"{words.name()} quarterly review", words.person()], [])]
    for number in range(2, count + 1):
        texts = [f"{words.name()} {rng.choice(_SECTIONS)}"]
        texts += [words.sentence() for _ in range(rng.randint(2, 4))]
        notes = [words.paragraph(2)] if rng.random() < 0.5 else []
        if number == at and variant % 3 == 1:
            notes = [_with_fact(words, 2, fact.text)]
        elif number == at:
            texts.insert(rng.randint(1, len(texts)), fact.text)
        slides.append((texts, notes))
    path.write_bytes(write.make_odp(slides, title=slides[0][0][0]))
    return Sample(path, fact.question, fact.answer, {"slide": at})


def _eml(words: Words, path: Path, variant: int) -> Sample:
    """A message whose body is distractors and whose fact is in an attachment (text,
    CSV, Markdown under a heading, an HTML page under a heading) or a forwarded message."""
    rng = words.rng
    kind = variant % 5
    name = f"{words.name().lower()}-{rng.choice(_SECTIONS)}"
    attachments = [(f"{words.name().lower()}-minutes.txt", "text/plain", words.paragraph(4))]
    fact = words.table(rng.randint(6, 15)) if kind == 1 else words.fact()
    if kind == 0:
        filename, content = f"{name}.txt", _with_fact(words, 4, fact.text)
        location = {"part": filename}
    elif kind == 1:
        filename = f"{name}.csv"
        content = "\n".join(",".join(row) for row in _grid(fact)) + "\n"
        location = {"part": filename, "row": fact.fact_row + 2}
    elif kind in (2, 3):
        heading = f"{words.name()} {rng.choice(_SECTIONS)}"
        filename = f"{name}.{'md' if kind == 2 else 'html'}"
        text = _with_fact(words, 3, fact.text)
        content = (
            f"{words.paragraph(2)}\n\n## {heading}\n\n{text}\n"
            if kind == 2
            else f"<p>{words.paragraph(2)}</p><h2>{heading}</h2><p>{text}</p>"
        )
        location = {"part": filename, "headings": [heading]}
    else:
        subject = f"Fwd: {words.name()} {rng.choice(_SECTIONS)}"
        content = write.make_eml(subject, _with_fact(words, 4, fact.text), sender=words.person())
        filename, location = "", {"part": subject}
    mime = {"txt": "text/plain", "csv": "text/csv", "md": "text/markdown", "html": "text/html"}
    attachment = (
        (filename, mime[filename.rsplit(".", 1)[1]], content)
        if filename
        else ("", "message/rfc822", content)
    )
    attachments.insert(rng.randint(0, 1) + 1, attachment)
    subject = f"{words.name()} {rng.choice(_SECTIONS)} update"
    body = f"Hello,\n\n{words.paragraph(3)}\n\nRegards,\n{words.person()}"
    path.write_bytes(write.make_eml(subject, body, attachments[:3], sender=words.person()))
    return Sample(path, fact.question, fact.answer, location)


_MAKERS = {
    "odt": _odt,
    "ods": _ods,
    "odp": _odp,
    "epub": _epub,
    "eml": _eml,
    "rtf": _rtf,
    "html": _html,
    "md": _markdown,
}


def make_samples(folder: Path, per_format: int = 10, seed: int = 0) -> list[Sample]:
    """Write ``per_format`` files of each of ODT, ODS, ODP, EPUB, EML, RTF, HTML and
    Markdown into ``folder`` (created if needed), each with one fact; the samples, in the
    order written. The same ``seed`` writes the same facts."""
    folder.mkdir(parents=True, exist_ok=True)
    words = _Names(random.Random(seed))
    samples = []
    for suffix, make in _MAKERS.items():
        for i in range(per_format):
            samples.append(make(words, folder / f"{suffix}-sample-{i:02d}.{suffix}", i))
    return samples
