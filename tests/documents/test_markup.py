"""HTML and XHTML trees to paragraphs and heading-path regions (EPUB chapters, e-mail
bodies), and trafilatura's headings found in a saved page's text."""

from __future__ import annotations

import time

import pytest
from lxml import etree

from rag.core.errors import IngestError
from rag.core.locations import location_at
from rag.documents.formats import extract_html
from rag.documents.headings import article_headings
from rag.documents.markup import Blocks, html_blocks, parse_html, parse_xml
from tests.support.hostile_zips import ENTITY_BOMB, EXTERNAL_ENTITY

PAGE = b"""<html><head><title>T</title><style>p {}</style></head><body>
<nav><a href="/">Home</a> menu</nav><script>var x = 1;</script>
<h1>Scope</h1><p>This covers the <b>Varnola</b> office.<!-- a note --> It is small.</p>
<h2>Notice</h2><ul><li>The notice period is 47 days.</li><li>Write to Kalev.</li></ul>
<table><tr><th>Item</th><th>Price</th></tr><tr><td>Kettle</td><td>48 EUR</td></tr></table>
<h1>Holidays</h1>Staff get<br>28 days.</body></html>"""


def read(root) -> Blocks:
    blocks = Blocks("x.html", None)
    html_blocks(root, blocks)
    return blocks


def test_blocks_headings_and_tables_in_order_without_scripts_or_navigation():
    blocks = read(parse_html(PAGE))
    assert blocks.value.split("\n\n") == [
        "Scope",
        "This covers the Varnola office. It is small.",
        "Notice",
        "The notice period is 47 days.",
        "Write to Kalev.",
        "Item | Price\nKettle — Price: 48 EUR; Item: Kettle.",
        "Holidays",
        "Staff get\n28 days.",
    ]
    at = blocks.value.index
    assert location_at(blocks.regions, at("47 days")) == {"headings": ["Scope", "Notice"]}
    assert location_at(blocks.regions, at("48 EUR")) == {"headings": ["Scope", "Notice"]}
    assert location_at(blocks.regions, at("28 days")) == {"headings": ["Holidays"]}


def test_xhtml_keeps_text_after_comments_entities_and_instructions():
    data = (
        '<?xml version="1.0"?><!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.1//EN" "x.dtd">'
        '<html xmlns="http://www.w3.org/1999/xhtml"><body><p>a&nbsp;b <!-- c --> d'
        "<?pi x?> e &#233;</p></body></html>"
    )
    assert read(parse_xml(data.encode(), "c.xhtml")).value == "a\u00a0b d e é".replace(
        "\u00a0", " "
    )


@pytest.mark.parametrize("prolog", [ENTITY_BOMB, EXTERNAL_ENTITY])
def test_xml_declaring_entities_is_refused_in_one_line(prolog):
    with pytest.raises(IngestError, match=r"^c\.xhtml: ") as caught:
        parse_xml(f"{prolog}<html>&x;</html>".encode(), "c.xhtml")
    assert "\n" not in str(caught.value)


def test_deep_nesting_is_walked_without_recursion():
    root = etree.Element("div")
    node = root
    for _ in range(5_000):  # past the recursion limit
        node = etree.SubElement(node, "div")
    node.text = "deep text"
    started = time.perf_counter()
    assert read(root).value == "deep text"
    assert time.perf_counter() - started < 2


def test_extend_shifts_a_parts_regions_into_its_own():
    blocks = Blocks("m.eml", None)
    blocks.add("Body text.", {"part": "body"})
    blocks.extend("Intro\n\nScope\n\nFee 12.", [(7, {"headings": ["Scope"]})], {"part": "a.md"})
    assert blocks.regions == [
        (0, {"part": "body"}),
        (12, {"part": "a.md"}),
        (19, {"part": "a.md", "headings": ["Scope"]}),
    ]
    assert blocks.value[19:24] == "Scope"


def test_a_saved_pages_headings_are_found_in_its_text():
    body = etree.fromstring(
        '<body><head rend="h1">Guide</head><p>Intro.</p><head rend="h2">Fees</head>'
        '<p>Fees</p><head rend="h3">Late <hi>fees</hi></head><p>12 EUR.</p>'
        '<head rend="h2">Missing</head><head rend="h2">Fees</head></body>'
    )
    text = "Guide\n\nIntro.\n\nFees\n\nFees\n\nLate fees\n\n12 EUR.\n\nFees"
    assert article_headings(body, text) == [
        (0, {"headings": ["Guide"]}),
        (15, {"headings": ["Guide", "Fees"]}),
        (27, {"headings": ["Guide", "Fees", "Late fees"]}),
        (47, {"headings": ["Guide", "Fees"]}),
    ]
    assert article_headings(None, text) == []


def test_a_saved_page_keeps_its_text_and_gains_heading_regions():
    filler = "Words that make the article long enough to be kept by the extractor. " * 6
    page = (
        "<html><head><title>Guide</title></head><body><nav>Home | About</nav><article>"
        f"<h1>Staff guide</h1><p>{filler}</p><h2>Notice</h2><p>The notice period is 47 days."
        f" {filler}</p><h2>Holidays</h2><p>Staff get 28 days. {filler}</p></article></body></html>"
    )
    found = extract_html(page.encode(), "guide.html")
    assert found.text.split("\n\n")[::2] == ["Staff guide", "Notice", "Holidays"]
    at = found.text.index
    assert location_at(found.regions, at("47 days")) == {"headings": ["Staff guide", "Notice"]}
    assert location_at(found.regions, at("28 days")) == {"headings": ["Staff guide", "Holidays"]}
