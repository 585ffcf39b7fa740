"""Where the headings of a saved web page are in the text trafilatura returned, as
heading-path regions (``{"headings": ["Scope", "Notice"]}``).

trafilatura keeps a page's headings as ``<head rend="h2">`` elements of its body tree and
as plain lines of its text; the stored text must stay exactly what it returns (every
offset points into it), so the headings are found in it afterwards rather than marked
while it is written. Kept apart from :mod:`rag.documents.markup` because
:mod:`rag.documents.formats` calls it and markup builds on formats.
"""

from __future__ import annotations

import unicodedata


def _line(text: str) -> str:
    return unicodedata.normalize("NFC", " ".join(text.split()))


def article_headings(body, text: str) -> list[tuple[int, dict]]:
    """Heading-path regions of ``text`` (paragraphs separated by blank lines): each of
    trafilatura's ``<head>`` elements in ``body`` found, in order, as a whole paragraph;
    a heading not found is left out rather than guessed."""
    if body is None:
        return []
    heads = []
    for head in body.iter("head"):
        rend = str(head.get("rend") or "")
        level = int(rend[1]) if len(rend) == 2 and rend[0] == "h" and rend[1].isdigit() else 1
        heads.append((level, _line("".join(head.itertext()))))
    starts: dict[str, list[tuple[int, int]]] = {}
    offset = 0
    for index, paragraph in enumerate(text.split("\n\n")):
        starts.setdefault(paragraph, []).append((index, offset))
        offset += len(paragraph) + 2
    path: list[tuple[int, str]] = []
    regions: list[tuple[int, dict]] = []
    after, seen = -1, dict.fromkeys(starts, 0)  # per title, the candidates passed
    for level, title in heads:
        candidates = starts.get(title, ())
        while seen.get(title, 0) < len(candidates) and candidates[seen[title]][0] <= after:
            seen[title] += 1  # each candidate passed once: linear however many repeat
        if not title or seen.get(title, 0) >= len(candidates):
            continue
        found = candidates[seen[title]]
        after = found[0]
        path = [(lv, t) for lv, t in path if lv < level] + [(level, title)]
        regions.append((found[1], {"headings": [t for _, t in path]}))
    return regions
