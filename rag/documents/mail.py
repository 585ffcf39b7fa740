"""E-mail: an EML file (the standard library's :mod:`email`) or an Outlook MSG file
(:mod:`rag.documents.outlook`), as its header lines, its body and its attachments' text.

The stored text starts with the message's From, To, Cc, Date and Subject lines, then its
body (the plain-text version; else the HTML one, read whole by
:mod:`rag.documents.markup`): together the region ``{"part": "body"}``. Each attachment
that holds text follows as a region ``{"part": "its-name.txt"}``
(:mod:`rag.documents.mail_parts`); a forwarded message (``message/rfc822``, or an
attachment named ``.eml``) is read the same way, to :data:`MAX_NESTED` levels. The title
is the subject; ``from``, ``to``, ``cc``, ``date`` (RFC 3339 when it parses) and
``subject`` go to the metadata.

The parser accepts anything, so a file without any of the usual headers is refused as
not an e-mail. Before a part is read, the MIME tree is measured without recursion: more
than :data:`MAX_PARTS` parts or a nesting deeper than :data:`MAX_DEPTH` is refused in
one line (the parser itself gives up on thousands of levels: "nested too deeply").
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

from rag.core.errors import IngestError, LimitExceeded
from rag.documents.formats import Extracted, unreadable
from rag.documents.kinds import ExtractLimits
from rag.documents.mail_parts import Parts, part_name

#: MIME parts in one message, nested ones included.
MAX_PARTS = 500
#: Levels of nested multiparts and forwarded messages.
MAX_DEPTH = 20
#: Levels of forwarded messages read inside one another.
MAX_NESTED = 3
HEADERS = ("from", "to", "cc", "date", "subject")


def parse(data: bytes, name: str) -> EmailMessage:
    """The message, its MIME tree measured; one line if it is no e-mail or too big."""
    try:
        message = email.message_from_bytes(data, policy=email.policy.default)
    except Exception as exc:  # RecursionError on thousands of levels, and the like
        raise unreadable(name, "e-mail", exc) from None
    if not any(message.get(header) for header in (*HEADERS, "message-id")):
        raise IngestError(f"{name}: not an e-mail (no From, To, Date or Subject header)")
    parts, stack = 0, [(message, 0)]
    while stack:
        part, depth = stack.pop()
        parts += 1
        if parts > MAX_PARTS:
            raise LimitExceeded(f"{name}: more than {MAX_PARTS} parts in the e-mail")
        if depth > MAX_DEPTH:
            raise LimitExceeded(f"{name}: e-mail parts nested more than {MAX_DEPTH} deep")
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend((sub, depth + 1) for sub in payload if isinstance(sub, EmailMessage))
    return message


def header_fields(message: EmailMessage) -> list[tuple[str, str]]:
    """("From", "Mira Tamm <mira@example.org>"), … as the message says them."""
    fields = []
    for key in HEADERS:
        try:
            value = str(message.get(key) or "")
        except Exception:  # a header the policy cannot parse: its raw text
            value = str(message.get_all(key, [""])[0])
        fields.append((key.capitalize(), " ".join(value.split())[:1000]))
    return fields


def rfc3339(value: str) -> str:
    """An e-mail date as RFC 3339 ("2024-03-15T10:30:00+02:00"); as given if it does not
    parse."""
    try:
        return parsedate_to_datetime(value).isoformat()
    except (TypeError, ValueError, IndexError):
        return value


def body_of(message: EmailMessage) -> tuple[str, bool]:
    """The body's text, and whether it is HTML: text/plain preferred, unless it is empty
    (a message written as HTML with a blank plain alternative)."""
    for subtype in ("plain", "html"):
        part = message.get_body(preferencelist=(subtype,))
        text = content_text(part) if part is not None else ""
        if text.strip():
            return text, subtype == "html"
    return "", False


def content_text(part: EmailMessage) -> str:
    """A text part decoded (its charset, else UTF-8 with replacements)."""
    try:
        return part.get_content()
    except (LookupError, UnicodeError, AttributeError):  # an unknown or lying charset
        raw = part.get_payload(decode=True) or b""
        return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def forwarded(attachment: EmailMessage, name: str) -> EmailMessage | None:
    """The message a ``message/rfc822`` part (or an attachment named ``.eml``) holds; None
    if it holds none that parses (it is then an unread attachment)."""
    inner = attachment.get_payload()
    inner = inner[0] if isinstance(inner, list) and inner else inner
    if isinstance(inner, EmailMessage):
        return inner
    try:
        return parse(attachment.get_payload(decode=True) or b"", name)
    except IngestError:
        return None


def read_message(message: EmailMessage, parts: Parts, label: str, level: int) -> None:
    """A message's header lines, body and attachments into ``parts``; a forwarded message
    the same way, as the part named by its file name or subject, :data:`MAX_NESTED`
    levels deep (deeper ones are unread attachments)."""
    body, html = body_of(message)
    parts.message(label, header_fields(message), body, html)
    for index, attachment in enumerate(leaves(message), 1):
        filename = part_name(attachment.get_filename(), f"attachment {index}")
        kind = attachment.get_content_type()
        if kind == "message/rfc822" or filename.lower().endswith(".eml"):
            inner = forwarded(attachment, parts.name) if level < MAX_NESTED else None
            if inner is not None:
                subject = str(inner.get("subject") or "")
                name = filename if attachment.get_filename() else part_name(subject, filename)
                parts.count(name)
                read_message(inner, parts, name, level + 1)
                continue
        payload = content_text(attachment) if kind.startswith("text/") else None
        if payload is None:
            payload = attachment.get_payload(decode=True) or b""
        parts.attachment(filename, kind, payload)


def leaves(message: EmailMessage):
    """The attachments of a message: its parts that are not its body, multiparts among
    them opened (a forwarded message is one attachment)."""
    stack = list(message.iter_attachments())[::-1]
    while stack:
        part = stack.pop()
        if part.is_multipart() and part.get_content_type() != "message/rfc822":
            stack.extend(list(part.iter_parts())[::-1])
        else:
            yield part


def extract_eml(data: bytes, name: str, limits: ExtractLimits) -> Extracted:
    """An EML message: header lines, body and attachments, each a part (``{"part": …}``)."""
    message = parse(data, name)
    parts = Parts(name, limits)
    try:
        read_message(message, parts, "body", 0)
    except (IngestError, MemoryError):
        raise
    except Exception as exc:  # what a crafted message makes of the email package
        raise unreadable(name, "e-mail", exc) from None
    if not parts.blocks.value:
        raise IngestError(f"{name}: the e-mail has no text")
    fields = dict(header_fields(message))
    metadata: dict = {"format": "eml"}
    for key in HEADERS:
        if value := fields[key.capitalize()]:
            metadata[key] = rfc3339(value) if key == "date" else value[:500]
    metadata.update(parts.metadata())
    subject = fields["Subject"] or None
    return Extracted(parts.blocks.value, subject, metadata, parts.blocks.regions)


def extract_msg(data: bytes, name: str, limits: ExtractLimits) -> Extracted:
    """An Outlook MSG message (:mod:`rag.documents.outlook`)."""
    from rag.documents.outlook import read_msg

    return read_msg(data, name, limits)
