"""E-mail written with the standard library: header lines, body, text and file
attachments and forwarded messages as parts (``{"part": …}``), metadata; crafted
messages (deep nesting, thousands of parts, no headers) refused in one line, fast.

MSG: no permissively licensed MSG writer exists, so an Outlook message is not generated
here; what is tested is that a file that is no MSG (or a damaged OLE file) is one line
(docs/formats.md says so)."""

from __future__ import annotations

import time

import pytest

from benchmarks.other_writers import make_eml, make_odt
from rag.core.errors import IngestError, LimitExceeded
from rag.core.locations import location_at
from rag.documents.kinds import ExtractLimits
from rag.documents.mail import MAX_PARTS, extract_eml, extract_msg
from rag.documents.outlook import OLE_MAGIC
from rag.documents.parsing import ParseLimits, Parser
from tests.support.pdfs import make_pdf

LIMITS = ExtractLimits()
FORWARDED = make_eml("Old deposit thread", "The deposit was 300 euros.", sender="Ott <o@x.org>")
ATTACHMENTS = [
    ("notes.txt", "text/plain", "The boiler code is K-778."),
    ("guide.html", "text/html", "<h1>Scope</h1><script>x()</script><p>Notice is 47 days.</p>"),
    ("readme.md", "text/markdown", "# Intro\n\nHello.\n\n## Fees\n\nThe fee is 12 EUR."),
    ("rota.csv", "text/csv", "Name,Shift\nAnn,night\n"),
    ("book.odt", "application/vnd.oasis.opendocument.text", make_odt([("p", "Odt fact 99.")])),
    ("report.pdf", "application/pdf", make_pdf([["Page one."], ["The safe holds 7 keys."]])),
    ("photo.png", "image/png", b"\x89PNG\r\n\x1a\n not really"),
    ("broken.odt", "application/vnd.oasis.opendocument.text", b"PK\x03\x04 damaged"),
    ("fwd.eml", "message/rfc822", FORWARDED),
]
MAIL = make_eml("Budget 2024", "Hello team,\n\nThe budget is attached.\n\nMira", ATTACHMENTS)


def where(found, fact: str) -> dict | None:
    return location_at(found.regions, found.text.index(fact))


def test_headers_body_and_each_attachment_as_a_part():
    found = extract_eml(MAIL, "budget.eml", LIMITS)
    assert found.text.startswith(
        "From: Mira Tamm <mira@example.org>\nTo: Ott Saar <ott@example.org>\n"
        "Date: Fri, 15 Mar 2024 10:30:00 +0200\nSubject: Budget 2024\n\nHello team,"
    )
    assert where(found, "Mira Tamm") == where(found, "budget is") == {"part": "body"}
    assert where(found, "K-778") == {"part": "notes.txt"}
    assert where(found, "47 days") == {"part": "guide.html", "headings": ["Scope"]}
    assert "x()" not in found.text
    assert where(found, "12 EUR") == {"part": "readme.md", "headings": ["Intro", "Fees"]}
    assert where(found, "night") == {"part": "rota.csv", "row": 2}, "through the CSV reader"
    assert where(found, "Odt fact") == {"part": "book.odt"}
    assert where(found, "7 keys") == {"part": "report.pdf", "page": 2}
    assert where(found, "300 euros") == {"part": "Old deposit thread"}
    assert found.text.index("K-778") < found.text.index("7 keys") < found.text.index("300")


def test_subject_is_the_title_and_headers_are_metadata():
    found = extract_eml(MAIL, "budget.eml", LIMITS)
    assert found.title == "Budget 2024"
    assert found.metadata == {
        "format": "eml",
        "from": "Mira Tamm <mira@example.org>",
        "to": "Ott Saar <ott@example.org>",
        "date": "2024-03-15T10:30:00+02:00",
        "subject": "Budget 2024",
        "attachments": "notes.txt, guide.html, readme.md, rota.csv, book.odt, report.pdf, "
        "photo.png, broken.odt, Old deposit thread",
        "unread": "photo.png, broken.odt",
    }


def test_an_html_only_body_is_read_whole():
    message = make_eml("Hi", "", html="<p>Short <b>note</b>: meet at 9.</p>")
    found = extract_eml(message, "h.eml", LIMITS)
    assert found.text.endswith("Subject: Hi\n\nShort note: meet at 9.")


def test_forwarded_messages_as_files_and_past_three_levels():
    inner = FORWARDED
    for level in range(4):
        inner = make_eml(
            f"Level {level}", f"Said at level {level}.", [("", "message/rfc822", inner)]
        )
    attached = [
        ("old.eml", "application/octet-stream", FORWARDED),
        ("bad.eml", "application/octet-stream", b"\x00junk"),
    ]
    found = extract_eml(make_eml("Files", "See attached.", attached), "f.eml", LIMITS)
    assert where(found, "300 euros") == {"part": "old.eml"}, "an .eml file is read as a message"
    assert found.metadata["unread"] == "bad.eml"
    found = extract_eml(inner, "deep.eml", LIMITS)
    assert where(found, "Said at level 0") == {"part": "Level 0"}, "three levels forwarded"
    assert "300 euros" not in found.text, "a fourth is not read"
    assert found.metadata["unread"] == "attachment 1"


def test_an_unparseable_date_is_kept_as_given():
    found = extract_eml(b"Date: sometime soon\r\nSubject: D\r\n\r\nx", "d.eml", LIMITS)
    assert found.metadata["date"] == "sometime soon"


def _nested(depth: int) -> bytes:
    head = b"From: a@example.org\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
    body = b"".join(
        b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i - 1, i)
        for i in range(1, depth)
    )
    return head + body + b"--b%d\r\nContent-Type: text/plain\r\n\r\nhello\r\n" % (depth - 1)


def _many_parts(count: int) -> bytes:
    head = b"From: a@example.org\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n"
    part = b"--z\r\nContent-Type: text/plain\r\n\r\nx\r\n"
    return head + part * count + b"--z--\r\n"


HOSTILE = {
    "nested 100 deep": (_nested(100), LimitExceeded, "nested more than 20 deep"),
    "nested 1,000 deep": (_nested(1000), IngestError, "nested too deeply"),
    "thousands of parts": (_many_parts(MAX_PARTS + 10), LimitExceeded, "more than 500 parts"),
    "no headers": (b"\x00\x01 binary junk \xff" * 100, IngestError, "not an e-mail"),
    "only headers": (b"Subject: \r\n\r\n", IngestError, "not an e-mail"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_crafted_message_is_one_line_fast(case):
    data, error, message = HOSTILE[case]
    started = time.perf_counter()
    with pytest.raises(error) as caught:
        extract_eml(data, "bad.eml", LIMITS)
    assert time.perf_counter() - started < 3
    assert str(caught.value).startswith("bad.eml: ") and "\n" not in str(caught.value)
    assert message in str(caught.value)


def test_a_message_over_the_text_limit_is_refused():
    message = make_eml("Big", "word " * 50_000)
    with pytest.raises(LimitExceeded, match="extracted text over"):
        extract_eml(message, "big.eml", ExtractLimits(max_text_bytes=100_000))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"From: a@example.org\r\n\r\nnot an OLE file", "not an Outlook message"),
        (OLE_MAGIC + b"\x00" * 600, "not a readable Outlook message"),
    ],
)
def test_a_file_that_is_no_msg_is_one_line(data, message):
    with pytest.raises(IngestError, match=message) as caught:
        extract_msg(data, "x.msg", LIMITS)
    assert str(caught.value).startswith("x.msg: ") and "\n" not in str(caught.value)


def test_through_a_bounded_worker():
    parser = Parser(ParseLimits(seconds=10, memory_mb=768, workers=1))
    try:
        document = parser.read_bytes(MAIL, "budget.eml")
        assert document.title == "Budget 2024"
        at = document.text.index("K-778")
        assert location_at(document.regions, at) == {"part": "notes.txt"}
        with pytest.raises(IngestError, match="not an Outlook message"):
            parser.read_bytes(b"plain text", "x.msg")
    finally:
        parser.stop()
