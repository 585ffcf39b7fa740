"""RTF documents, as text, with striprtf (BSD-3-Clause).

striprtf turns RTF into plain text in one linear pass over the control words (no
recursion: its group stack is a list), skipping the font and colour tables, pictures and
other "destinations". RTF has no heading structure that writers agree on, so an RTF
document has no regions. The title comes from the ``\\info`` group's ``\\title``; else
the first line is the title (as for plain text). Author and creation date, when the
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


def extract_rtf(data: bytes, name: str, limits: ExtractLimits) -> Extracted:
    """An RTF document's text (paragraphs kept), title and metadata."""
    from striprtf.striprtf import rtf_to_text

    source = data.decode("cp1252", "replace").lstrip("\ufeff \t\r\n")
    if not source.startswith("{\\rtf"):
        raise IngestError(f"{name}: not an RTF document (it does not start with {{\\rtf)")
    try:
        raw = rtf_to_text(source, errors="replace")
    except MemoryError:
        raise
    except Exception as exc:  # a code point or code page a crafted file names
        raise unreadable(name, "RTF document", exc) from None
    text = re.sub(r"\n{3,}", "\n\n", _tidy(raw))
    check_text_size(text, name, limits.max_text_bytes)
    if not text:
        raise IngestError(f"{name}: the RTF document has no text")
    return Extracted(text, _info(source, "title") or None, _metadata(source))
