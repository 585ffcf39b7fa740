"""Crafted zip containers and XML for the ODF and EPUB tests: a zip bomb, a directory of
20,000 entries, entity bombs and external entities, a truncated file."""

from __future__ import annotations

import io
import zipfile

#: "Billion laughs": ten levels of ten references, 10**9 "lol"s if expanded.
ENTITY_BOMB = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{(f"&lol{i - 1};" if i > 1 else "&lol;") * 10}">' for i in range(1, 10)
    )
    + "]>"
)
#: An external entity reaching for a local file.
EXTERNAL_ENTITY = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'


def zip_with(members: list[tuple[str, bytes | str]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return out.getvalue()


def bomb(first: tuple[str, str], member: str, size: int = 8 << 20) -> bytes:
    """A zip whose ``member`` is ``size`` bytes of zeros compressed ~1000-fold."""
    return zip_with([first, (member, b"\0" * size)])


def many_entries(first: tuple[str, str], count: int = 20_000) -> bytes:
    """A zip of ``count`` tiny entries after ``first``."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(*first)
        for i in range(count):
            zf.writestr(f"x/{i}", b"")
    return out.getvalue()


def replaced(data: bytes, member: str, content: bytes | str) -> bytes:
    """The zip ``data`` with ``member`` replaced by ``content``."""
    source = zipfile.ZipFile(io.BytesIO(data))
    members = [(i.filename, source.read(i.filename)) for i in source.infolist()]
    return zip_with([(n, content if n == member else d) for n, d in members])
