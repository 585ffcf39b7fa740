"""The parts of an e-mail (EML or Outlook MSG) as one text: the message, then each
attachment that holds text, each a region ``{"part": "body"}``, ``{"part": "notes.txt"}``.

Shared by :mod:`rag.documents.mail` (EML) and :mod:`rag.documents.outlook` (MSG), which
differ only in how they take a message apart. An attachment is read when it is text
(``text/*``, or a ``.txt``/``.md``/``.csv``/``.html`` name) or a file of another kind the
service reads (PDF, ODT, EPUB, RTF, Word, …): its extractor runs here, in the same
bounded parse worker as the message, so it costs no more than the same file uploaded
alone. A part of a file kind inside it keeps its own location within the part
(``{"part": "report.pdf", "page": 2}``). An attachment that cannot be read (an image, an
encrypted document) is left out and named in the metadata (``unread``), not a failure of
the whole message.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from rag.core.errors import LimitExceeded
from rag.documents import kinds
from rag.documents.formats import _tidy
from rag.documents.ingest import heading_regions
from rag.documents.kinds import ExtractLimits
from rag.documents.markup import Blocks, html_blocks, parse_html

#: Attachments read of one message, nested messages' included.
MAX_ATTACHMENTS = 100
#: Kinds not read through their extractor inside a message: a message is read by the mail
#: reader itself, and an HTML part whole (:mod:`rag.documents.markup`), not as an article.
NOT_NESTED = ("eml", "msg", "html")
TEXT_SUFFIXES = (".txt", ".text", ".log", ".md", ".markdown", ".csv", ".tsv")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")


def part_name(filename: str | None, fallback: str) -> str:
    """An attachment's name fit for a location: one line, no path, at most 200 chars."""
    name = " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", filename or "").split())
    return PurePosixPath(name.replace("\\", "/")).name[:200] or fallback


def header_lines(fields: list[tuple[str, str]]) -> str:
    """ "Subject: …" and the like, one a line, for the empty values left out: the reader
    answers "Who sent the budget mail?" from the text, not from metadata."""
    return "\n".join(f"{key}: {' '.join(value.split())}" for key, value in fields if value)


def text_blocks(text: str, name: str, html: bool = False) -> Blocks:
    """A part's text as a stand-alone :class:`Blocks` (paragraphs, and headings when it is
    HTML), measured against no limit of its own: the message's builder counts it."""
    part = Blocks(name, None)
    if html:
        try:
            html_blocks(parse_html(text), part)
        except Exception:  # lxml's "Document is empty": a part without text
            return part
    else:
        for paragraph in re.split(r"\n\s*\n", text):
            part.add(paragraph)
    return part


class Parts:
    """The text of a message and its attachments, appended part by part within the
    limits; ``unread`` names the attachments left out, ``names`` every one."""

    def __init__(self, name: str, limits: ExtractLimits) -> None:
        self.name = name
        self.limits = limits
        self.blocks = Blocks(name, limits.max_text_bytes)
        self.names: list[str] = []
        self.unread: list[str] = []

    def message(self, label: str, fields: list[tuple[str, str]], body: str, html: bool) -> None:
        """A message's header lines and body, as the part ``label`` ("body" for the
        message itself, the file name of a forwarded one)."""
        part = text_blocks(body, self.name, html)
        header = _tidy(header_lines(fields))
        text = f"{header}\n\n{part.value}" if header and part.value else header or part.value
        shift = len(header) + 2 if header and part.value else 0
        regions = [(offset + shift, location) for offset, location in part.regions]
        self.blocks.extend(text, regions, {"part": label})

    def count(self, filename: str) -> None:
        """Count an attachment (a forwarded message too) against the limit, by name."""
        if len(self.names) >= MAX_ATTACHMENTS:
            raise LimitExceeded(f"{self.name}: more than {MAX_ATTACHMENTS} attachments")
        self.names.append(filename)

    def attachment(self, filename: str, content_type: str, payload: bytes | str) -> None:
        """An attachment, read if it holds text (see the module docstring)."""
        self.count(filename)
        text, regions = self._read(filename, content_type.lower(), payload)
        if text:
            self.blocks.extend(text, regions, {"part": filename})
        else:
            self.unread.append(filename)

    def _read(self, filename: str, content_type: str, payload: bytes | str):
        """(text, regions) of an attachment; ("", []) if it has none that can be read. A
        file of a kind the service reads goes through its extractor (a CSV's rows as
        "Header: value" lines with their row numbers), else a text part is read as text."""
        suffix = PurePosixPath(filename.lower()).suffix
        data = payload if isinstance(payload, bytes) else payload.encode("utf-8", "replace")
        kind = kinds.kind_of(filename, data)
        is_text = content_type.startswith("text/") or suffix in TEXT_SUFFIXES + HTML_SUFFIXES
        if kinds.BY_NAME[kind].extractor and kind not in NOT_NESTED:
            text, regions = self._extract(kind, filename, data)
            if text or not is_text:
                return text, regions
        if not is_text:
            return "", []
        if isinstance(payload, bytes):
            payload = payload.decode("utf-8", "replace")
        html = content_type == "text/html" or suffix in HTML_SUFFIXES
        part = text_blocks(payload, self.name, html)
        if suffix in (".md", ".markdown"):
            return part.value, heading_regions(part.value)
        return part.value, part.regions

    def _extract(self, kind: str, filename: str, payload: bytes):
        """A file attachment through its kind's extractor, in this (bounded) process."""
        try:
            found = kinds.extractor(kind)(payload, f"{self.name}: {filename}", self.limits)
        except MemoryError:
            raise  # the worker's limit: the whole file is refused
        except Exception:  # its own one line, or a parser's bug: this part is unread
            return "", []
        return found.text, [(offset, dict(location)) for offset, location in found.regions]

    def metadata(self) -> dict:
        """The attachments' names, and those left unread, as metadata (one string each)."""
        out = {}
        if self.names:
            out["attachments"] = ", ".join(self.names)[:500]
        if self.unread:
            out["unread"] = ", ".join(self.unread)[:500]
        return out
