"""Real ODT, ODS, ODP, EPUB, EML and RTF files written from plain Python values, for the
tests (tests/documents/) and the sample corpus (:mod:`benchmarks.samples_other`).

No permissively licensed writer for ODF or EPUB is installed, and both formats are a zip
of XML with a fixed layout: each file is written as their specifications lay it out
(ODF: ``mimetype`` first and stored, then ``META-INF/manifest.xml``, ``content.xml``,
``meta.xml``; EPUB 3: ``mimetype``, ``META-INF/container.xml``, an OPF package with a
manifest and spine, XHTML chapters). E-mail comes from the standard library's
:class:`email.message.EmailMessage`; RTF is written by hand (a few control words).
"""

from __future__ import annotations

import email
import email.policy
import io
import zipfile
from email.message import EmailMessage
from xml.sax.saxutils import escape

ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0" '
    'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" office:version="1.3"'
)
MIMETYPES = {
    "text": "application/vnd.oasis.opendocument.text",
    "spreadsheet": "application/vnd.oasis.opendocument.spreadsheet",
    "presentation": "application/vnd.oasis.opendocument.presentation",
}


def zip_of(members: list[tuple[str, bytes | str]]) -> bytes:
    """A zip of ``members`` in order, the first (``mimetype``) stored uncompressed."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, (name, data) in enumerate(members):
            compress = zipfile.ZIP_STORED if i == 0 else zipfile.ZIP_DEFLATED
            zf.writestr(name, data, compress_type=compress)
    return out.getvalue()


def odf(kind: str, body: str, title: str = "", author: str = "", encrypted: bool = False) -> bytes:
    """An ODF file of ``kind`` (text, spreadsheet, presentation) whose
    ``office:body/office:{kind}`` holds the XML ``body``."""
    entry = (
        '<manifest:encryption-data manifest:checksum-type="SHA1/1K" manifest:checksum="x">'
        '<manifest:algorithm manifest:algorithm-name="Blowfish CFB"/></manifest:encryption-data>'
        if encrypted
        else ""
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
        '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{MIMETYPES[kind]}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">'
        f"{entry}</manifest:file-entry>"
        '<manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODF_NS}>'
        f"<office:body><office:{kind}>{body}</office:{kind}></office:body>"
        "</office:document-content>"
    )
    meta = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-meta {ODF_NS}><office:meta>'
        f"<dc:title>{escape(title)}</dc:title><dc:creator>{escape(author)}</dc:creator>"
        "<meta:creation-date>2024-03-15T10:00:00</meta:creation-date>"
        "</office:meta></office:document-meta>"
    )
    return zip_of(
        [
            ("mimetype", MIMETYPES[kind]),
            ("META-INF/manifest.xml", manifest),
            ("content.xml", content),
            ("meta.xml", meta),
        ]
    )


def odt_body(blocks: list[tuple[str, object]]) -> str:
    """``("h1".."h6", text)``, ``("p", text)``, ``("list", [texts])`` and
    ``("table", [[cells]])`` as ODT body XML."""
    out = []
    for what, value in blocks:
        if what.startswith("h"):
            level = int(what[1:])
            out.append(f'<text:h text:outline-level="{level}">{escape(str(value))}</text:h>')
        elif what == "p":
            out.append(f"<text:p>{escape(str(value))}</text:p>")
        elif what == "list":
            items = "".join(
                f"<text:list-item><text:p>{escape(v)}</text:p></text:list-item>" for v in value
            )
            out.append(f"<text:list>{items}</text:list>")
        elif what == "table":
            out.append(f"<table:table>{''.join(table_row(row) for row in value)}</table:table>")
    return "".join(out)


def table_row(cells: list[str], repeated: int = 1) -> str:
    """A table row of text cells (an empty string is an empty cell)."""
    xml = "".join(
        f'<table:table-cell office:value-type="string"><text:p>{escape(c)}</text:p>'
        "</table:table-cell>"
        if c
        else "<table:table-cell/>"
        for c in cells
    )
    attribute = f' table:number-rows-repeated="{repeated}"' if repeated > 1 else ""
    return f"<table:table-row{attribute}>{xml}</table:table-row>"


def make_odt(blocks: list[tuple[str, object]], title: str = "", author: str = "") -> bytes:
    return odf("text", odt_body(blocks), title, author)


def make_ods(sheets: dict[str, list[list[str]]], title: str = "", tail: str = "") -> bytes:
    """Sheets of rows; ``tail`` is XML appended to every sheet (repeated empty rows)."""
    body = "".join(
        f'<table:table table:name="{escape(name)}">'
        + "".join(table_row(row) for row in rows)
        + tail
        + "</table:table>"
        for name, rows in sheets.items()
    )
    return odf("spreadsheet", body, title)


def make_odp(slides: list[tuple[list[str], list[str]]], title: str = "") -> bytes:
    """Slides as (texts, speaker notes)."""
    pages = []
    for number, (texts, notes) in enumerate(slides, 1):
        frames = "".join(
            f"<draw:frame><draw:text-box><text:p>{escape(t)}</text:p></draw:text-box></draw:frame>"
            for t in texts
        )
        note = "".join(f"<text:p>{escape(n)}</text:p>" for n in notes)
        notes_xml = (
            f"<presentation:notes><draw:frame><draw:text-box>{note}</draw:text-box>"
            "</draw:frame></presentation:notes>"
            if notes
            else ""
        )
        pages.append(f'<draw:page draw:name="page{number}">{frames}{notes_xml}</draw:page>')
    return odf("presentation", "".join(pages), title)


def xhtml(title: str, body: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">'
        f"<head><title>{escape(title)}</title></head><body>{body}</body></html>"
    )


def make_epub(
    title: str, chapters: list[str], author: str = "", extra: list | None = None
) -> bytes:
    """An EPUB 3 book of XHTML chapter bodies (in spine order), in ``OEBPS/``;
    ``extra`` members are added to the zip as they are."""
    items = "".join(
        f'<item id="c{i}" href="text/ch{i}.xhtml" media-type="application/xhtml+xml"/>'
        for i in range(len(chapters))
    )
    spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(chapters)))
    opf = (
        '<?xml version="1.0" encoding="UTF-8"?><package xmlns="http://www.idpf.org/2007/opf" '
        'version="3.0" unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f'<dc:identifier id="id">urn:uuid:0</dc:identifier><dc:title>{escape(title)}</dc:title>'
        f"<dc:creator>{escape(author)}</dc:creator><dc:language>en</dc:language>"
        "<dc:date>2023-11-02</dc:date></metadata>"
        f'<manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" '
        f'properties="nav"/>{items}</manifest><spine>{spine}</spine></package>'
    )
    container = (
        '<?xml version="1.0"?><container version="1.0" '
        'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
        '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
        "</rootfiles></container>"
    )
    nav = xhtml("Contents", '<nav epub:type="toc"><ol><li>Contents</li></ol></nav>')
    members = [
        ("mimetype", "application/epub+zip"),
        ("META-INF/container.xml", container),
        ("OEBPS/content.opf", opf),
        ("OEBPS/nav.xhtml", nav),
    ]
    members += [(f"OEBPS/text/ch{i}.xhtml", xhtml(title, c)) for i, c in enumerate(chapters)]
    return zip_of(members + list(extra or []))


def make_eml(
    subject: str,
    body: str,
    attachments: list[tuple[str, str, bytes | str]] = (),
    html: str = "",
    sender: str = "Mira Tamm <mira@example.org>",
    to: str = "Ott Saar <ott@example.org>",
    date: str = "Fri, 15 Mar 2024 10:30:00 +0200",
) -> bytes:
    """An e-mail: a plain body (and an HTML alternative), then attachments as
    ``(filename, "maintype/subtype", content)``."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"], message["Date"] = sender, to, subject, date
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    for filename, mime, content in attachments:
        maintype, _, subtype = mime.partition("/")
        if isinstance(content, str):
            message.add_attachment(content, subtype=subtype, filename=filename)
        elif mime == "message/rfc822":  # a whole e-mail, forwarded as an attachment
            message.add_attachment(email.message_from_bytes(content, policy=email.policy.default))
        else:
            message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def rtf_escape(text: str) -> str:
    """Text as RTF: braces and backslashes escaped, non-ASCII as ``\\uN?``."""
    out = []
    for ch in text:
        if ch in "\\{}":
            out.append("\\" + ch)
        elif ord(ch) > 127:
            code = ord(ch) if ord(ch) < 32768 else ord(ch) - 65536
            out.append(f"\\u{code}?")
        else:
            out.append(ch)
    return "".join(out)


def make_rtf(paragraphs: list, title: str = "", author: str = "") -> bytes:
    """An RTF document of paragraphs (a ``("h1".."h9", text)`` pair is a heading, marked
    with a heading style and its outline level as Word and LibreOffice write them), with
    an ``\\info`` group naming title and author."""
    info = (
        f"{{\\info{{\\title {rtf_escape(title)}}}{{\\author {rtf_escape(author)}}}"
        "{\\creatim\\yr2024\\mo3\\dy15\\hr10\\min0}}"
    )
    styles = "{\\stylesheet{\\s0 Normal;}" + "".join(
        f"{{\\s{n}\\outlinelevel{n - 1} heading {n};}}" for n in range(1, 4)
    )
    body = []
    for paragraph in paragraphs:
        if isinstance(paragraph, tuple):
            level = int(paragraph[0][1:])
            body.append(
                f"\\pard\\plain\\s{level}\\keepn\\outlinelevel{level - 1}\\b\\fs32 "
                f"{rtf_escape(paragraph[1])}\\par\n"
            )
        else:
            body.append(f"\\pard\\plain\\s0 {rtf_escape(paragraph)}\\par\n")
    return (
        "{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0\\fswiss Helvetica;}}"
        f"{{\\colortbl;\\red0\\green0\\blue0;}}{styles}}}{info}\n\\f0\\fs24 {''.join(body)}}}"
    ).encode("ascii")
