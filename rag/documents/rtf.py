"""RTF documents, as text, with striprtf (BSD-3-Clause).

striprtf turns RTF into plain text in one linear pass over the control words (no
recursion: its group stack is a list), skipping the font and colour tables, pictures and
other "destinations". Headings are the paragraphs Word and LibreOffice mark with an
outline level (``\\outlinelevel0`` is a heading 1): each control word becomes a private-use
character before striprtf runs, so that its line can be found in the text afterwards and
given a region ``{"headings": ["Scope", "Notice"]}``; a document without them has no
regions. The title comes from the ``\\info`` group's ``\\title``; else the first line is
the title (as for plain text). Author and creation date, when the
``\\info`` group has them, go to the metadata.

A file that does not start with ``{\\rtf`` is refused in one line, whatever its name.
RTF is 7-bit text: the raw bytes are read as cp1252 (escapes say the rest), so no
byte sequence fails to decode.
"""

from __future__ import annotations

import re

from rag.core.errors import IngestError
from rag.documents.formats import Extracted, _tidy, check_text_size, unreadable
from rag.documents.kinds import ExtractLimits

#: ``{\title …}`` and the like in the info group: a run of text and escapes, no group
#: (possessive: no backtracking, whatever a crafted file puts there).
_INFO = r"\{\\%s\s((?:[^{}\\]++|\\[^a-z]|\\[a-z]++-?+\d*+ ?+)*+)\}"
#: A heading paragraph's outline level (0-8; 9 is body text), and what it becomes: a
#: group that outputs one private-use character whatever the document's ``\\uc``.
_OUTLINE = re.compile(r"(?<!\\)((?:\\\\)*)\\outlinelevel([0-8])(?![0-9]) ?")
_MARK = 0xE000
_MARKS = re.compile("[\ue000-\ue008]")
#: The document's own ``\\u`` escapes of those characters (as spaces: the marks are ours).
_OWN_MARKS = re.compile(r"(?<!\\)((?:\\\\)*)\\u(-819[0-2]|-818[4-9]|5734[4-9]|5735[0-2])(?![0-9])")
_CREATED = re.compile(r"\\creatim\\yr(\d{4})(?:\\mo(\d{1,2}))?(?:\\dy(\d{1,2}))?")


def _info(source: str, field: str) -> str:
    """A field of the ``\\info`` group as plain text ("" if absent)."""
    from striprtf.striprtf import rtf_to_text

    found = re.search(_INFO % field, source[:65536])
    if not found:
        return ""
    return " ".join(rtf_to_text("{\\rtf1 " + found.group(1) + "}", errors="ignore").split())


def _metadata(source: str) -> dict:
    metadata: dict = {"format": "rtf"}
    if author := _info(source, "author"):
        metadata["author"] = author[:500]
    if created := _CREATED.search(source[:65536]):
        year, month, day = created.groups()
        metadata["date"] = "-".join(
            part for part in (year, month and month.zfill(2), day and day.zfill(2)) if part
        )
    return metadata


def _heading_regions(text: str) -> tuple[str, list]:
    """``text`` without its outline marks, and a heading-path region at each line that
    had one (a line that was only a mark is dropped)."""
    lines, regions, path, offset = [], [], [], 0
    for line in text.split("\n"):
        levels = [ord(c) - _MARK + 1 for c in _MARKS.findall(line)]
        if levels:
            line = " ".join(_MARKS.sub("", line).split())
            if not line:
                continue
            path = [(lv, t) for lv, t in path if lv < min(levels)] + [(min(levels), line)]
            regions.append((offset, {"headings": [t for _, t in path]}))
        lines.append(line)
        offset += len(line) + 1
    return "\n".join(lines), regions


def extract_rtf(data: bytes, name: str, limits: ExtractLimits) -> Extracted:
    """An RTF document's text (paragraphs kept), title and metadata."""
    from striprtf.striprtf import rtf_to_text

    source = data.decode("cp1252", "replace").lstrip("\ufeff \t\r\n")
    if not source.startswith("{\\rtf"):
        raise IngestError(f"{name}: not an RTF document (it does not start with {{\\rtf)")
    try:
        marked = _OUTLINE.sub(
            lambda m: f"{m[1]}{{\\uc1\\u{_MARK + int(m[2])}?}}", _OWN_MARKS.sub(r"\1\\u32", source)
        )
        raw = rtf_to_text(marked, errors="replace")
    except MemoryError:
        raise
    except Exception as exc:  # a code point or code page a crafted file names
        raise unreadable(name, "RTF document", exc) from None
    text, regions = _heading_regions(re.sub(r"\n{3,}", "\n\n", _tidy(raw)))
    check_text_size(text, name, limits.max_text_bytes)
    if not text.strip():
        raise IngestError(f"{name}: the RTF document has no text")
    return Extracted(text, _info(source, "title") or None, _metadata(source), regions)
