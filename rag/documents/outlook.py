"""Outlook MSG messages, read with python-oxmsg (MIT): the same text, regions and metadata
as an EML message (:mod:`rag.documents.mail`): header lines and body as
``{"part": "body"}``, each attachment that holds text as ``{"part": "its-name"}``.

An MSG file is an OLE compound file; python-oxmsg reads its properties (subject, sender,
submit time, recipients, plain or HTML body, attachments by value). There is no
permissively licensed MSG writer, so this path is tested on its refusals only (a file
that is no OLE file, a damaged one) and not on a generated message: see docs/formats.md.
An OLE file is read whole into memory by olefile; the parse worker's memory cap and time
limit bound it, and at most :data:`rag.documents.mail_parts.MAX_ATTACHMENTS`
attachments are read.
"""

from __future__ import annotations

from rag.core.errors import IngestError, LimitExceeded
from rag.documents.formats import Extracted, unreadable
from rag.documents.kinds import ExtractLimits
from rag.documents.mail_parts import MAX_ATTACHMENTS, Parts, part_name

#: The signature every OLE compound file starts with.
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _fields(message) -> tuple[list[tuple[str, str]], dict]:
    """The header lines of the text, and the metadata (date as RFC 3339)."""
    to = ", ".join(
        f"{r.name} <{r.email_address}>" if r.name and r.name != r.email_address else r.email_address
        for r in message.recipients
        if r.email_address or r.name
    )
    sent = message.sent_date
    fields = [
        ("From", message.sender or ""),
        ("To", to),
        ("Date", sent.isoformat() if sent else ""),
        ("Subject", message.subject or ""),
    ]
    metadata: dict = {"format": "msg"}
    for key, value in fields:
        if value := " ".join(value.split()):
            metadata[key.lower()] = value[:500]
    return fields, metadata


def _read(message, parts: Parts) -> dict:
    """The message's text into ``parts``; its metadata."""
    fields, metadata = _fields(message)
    body, html = message.body or "", False
    if not body.strip() and message.html_body:
        body, html = message.html_body, True
    parts.message("body", fields, body, html)
    if message.attachment_count > MAX_ATTACHMENTS:
        raise LimitExceeded(f"{parts.name}: more than {MAX_ATTACHMENTS} attachments")
    for index, attachment in enumerate(message.attachments, 1):
        payload = attachment.file_bytes if attachment.attached_by_value else None
        filename = part_name(attachment.file_name, f"attachment {index}")
        parts.attachment(filename, attachment.mime_type or "", payload or b"")
    return metadata


def read_msg(data: bytes, name: str, limits: ExtractLimits) -> Extracted:
    """An Outlook message's text, title (its subject) and metadata."""
    if not data.startswith(OLE_MAGIC):
        raise IngestError(f"{name}: not an Outlook message (not an OLE compound file)")
    from oxmsg import Message

    parts = Parts(name, limits)
    try:
        message = Message.load(data)
        metadata = _read(message, parts)
    except (IngestError, MemoryError):
        raise
    except Exception as exc:  # olefile's and oxmsg's errors on a damaged file
        raise unreadable(name, "Outlook message", exc) from None
    if not parts.blocks.value:
        raise IngestError(f"{name}: the Outlook message has no text")
    metadata.update(parts.metadata())
    return Extracted(parts.blocks.value, metadata.get("subject"), metadata, parts.blocks.regions)
