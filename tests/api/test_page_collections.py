"""The chat page with collections, filters and scoped keys, in headless Chromium against a
real `rag serve` holding keys (one server for the module): the picker lists only the key's
collections and remembers the choice, questions keep to the collection and the filter
shown, uploads go into the chosen collection, and a 401 asks for the key once.

Watched as in test_page.py: a request to anything but the server, or an unexpected
console error, fails the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from benchmarks.server import Server
from rag.service.keys import KeyRing
from tests.api.test_page import FAILED_LOAD, _watch, ask, browser  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.server, pytest.mark.browser]

NOTICE = "What is the notice period?"
CONTRACTS = {
    2019: "six weeks, given in writing to the works council in Tartu",
    2021: "two months, given in writing to the office manager in Narva",
    2024: "three months, given in writing to the head of human resources in Tallinn",
}
HANDBOOK = "Staff handbook\n\nHolidays are 25 days a year. Leave is booked with the team lead."
SECRET = "Quokkavault report\n\nThe Quokkavault notice period is nine years."


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[dict]:
    """A seeded server; an admin fills collections legal, hr and secret; then keys: one
    that may write to legal and hr, one that may only read hr."""
    server = Server.seeded(tmp_path_factory.mktemp("page-collections")).start()
    ring = KeyRing(Path(server.env["RAG_INDEX_DIR"]) / "keys.sqlite3")
    _, admin = ring.create("admin", "*", name="admin")
    _, writer = ring.create("write", ["legal", "hr"], name="legal and hr")
    _, reader = ring.create("read", ["hr"], name="hr reader")
    as_admin = {"Authorization": f"Bearer {admin}"}
    documents = [
        (
            f"Employment contract {year}\n\nThe notice period under this contract is {text}.",
            "legal",
            {"year": year, "team": "legal"},
        )
        for year, text in CONTRACTS.items()
    ]
    documents += [(HANDBOOK, "hr", {"team": "hr"}), (SECRET, "secret", {})]
    for text, collection, metadata in documents:
        body = {"text": text, "collection": collection, "metadata": metadata}
        r = httpx.post(f"{server.base}/documents", json=body, headers=as_admin, timeout=60)
        assert r.status_code == 201, r.text
    try:
        yield {"base": server.base, "admin": as_admin, "writer": writer, "reader": reader}
    finally:
        server.stop()


@pytest.fixture
def watched(browser, world):  # noqa: F811 (browser: the imported fixture)
    w = _watch(browser, world["base"], viewport={"width": 1280, "height": 860})
    w.allow_errors(FAILED_LOAD)  # the 401s before the key is given
    yield w
    try:
        w.check()
    finally:
        w.context.close()


def enter_key(page: Page, key: str, remember: bool = False) -> None:
    """The key form, as a user fills it when asked."""
    box = page.get_by_label("API key", exact=True)
    expect(box).to_be_visible()
    box.fill(key)
    if remember:
        page.get_by_label("Remember on this browser").check()
    page.get_by_role("button", name="Save key").click()
    expect(page.locator("#key-saved")).to_be_visible()


@pytest.fixture
def page(watched, world) -> Page:
    """The page with the writer's key given."""
    watched.page.goto(f"{world['base']}/")
    enter_key(watched.page, world["writer"])
    expect(watched.page.locator("#collection option")).to_have_count(3)
    return watched.page


def source_titles(turn) -> set[str]:
    return {t.strip() for t in turn.locator(".source-title").all_text_contents()}


def test_a_401_asks_for_the_key_once_and_the_picker_shows_only_its_collections(watched, world):
    page = watched.page
    refused = []
    page.on("response", lambda r: r.status == 401 and refused.append(r.url))
    page.goto(f"{world['base']}/")
    expect(page.locator("#key-status")).to_contain_text("needs an API key")
    expect(page.get_by_label("API key", exact=True)).to_be_focused()
    assert {u.split("?")[0].rsplit("/", 1)[-1] for u in refused} >= {"collections", "documents"}
    enter_key(page, world["writer"])

    # the calls that were refused are sent again with the key: the key's collections only
    options = page.locator("#collection option")
    expect(options).to_have_text(["All collections", "hr (1 document)", "legal (3 documents)"])
    expect(page.get_by_label("Collection")).to_have_value("")
    expect(page.locator("#doc-list .doc-item")).to_have_count(4)
    expect(page.locator("#doc-list")).not_to_contain_text("Quokkavault")
    expect(page.locator("#service-status")).to_have_text("4 documents · 4 passages")

    # the choice narrows the documents and survives a reload; the key is not asked again
    page.get_by_label("Collection").select_option("legal")
    expect(page.locator("#doc-list .doc-item")).to_have_count(3)
    expect(page.locator("#docs-scope")).to_have_text("In legal")
    seen = len(refused)
    page.reload()
    expect(page.get_by_label("Collection")).to_have_value("legal")
    expect(page.locator("#doc-list .doc-item")).to_have_count(3)
    expect(page.locator("#scope-words")).to_have_text("Asking in legal")
    turn = ask(page, NOTICE)
    expect(turn.locator(".answer-text")).to_be_visible()
    assert len(refused) == seen and page.locator("#key-form").is_hidden()

    # a remembered collection the key may not read falls back to all
    page.evaluate("localStorage.setItem('rag.collection', 'secret')")
    page.reload()
    expect(page.locator("#collection-status")).to_contain_text("“secret” is not available")
    expect(page.get_by_label("Collection")).to_have_value("")
    assert page.evaluate("localStorage.getItem('rag.collection')") is None
    assert len(refused) == seen


def test_a_question_keeps_to_the_collection_and_the_filter_shown(page, tmp_path):
    page.get_by_label("Collection").select_option("hr")
    turn = ask(page, NOTICE)
    expect(turn.locator(".turn-scope")).to_have_text("Asked in hr")
    assert source_titles(turn) == {"Staff handbook"}

    page.get_by_label("Collection").select_option("legal")
    page.get_by_role("button", name="Filter", exact=True).click()
    page.get_by_role("button", name="Add a condition").click()
    page.get_by_label("Field").select_option(label="year")
    expect(page.get_by_label("Values of year").get_by_role("checkbox")).to_have_count(3)
    page.get_by_label("Comparison").select_option(">=")
    page.get_by_label("Value of year").select_option(label="2021")
    expect(page.locator("#scope-words")).to_have_text("Asking in legal, year ≥ 2021")
    expect(page.get_by_role("button", name="Filter (1)")).to_be_visible()
    turn = ask(page, NOTICE)
    expect(turn.locator(".turn-scope")).to_have_text("Asked in legal, year ≥ 2021")
    assert turn.locator(".answer-text").inner_text() in ("two months", "three months")
    assert source_titles(turn) <= {"Employment contract 2021", "Employment contract 2024"}
    page.screenshot(path=str(tmp_path / "collections.png"))

    # by document: the condition and the document are ANDed, then cleared
    page.get_by_role("button", name="Remove condition 1").click()
    page.get_by_role("checkbox", name="Employment contract 2019").check()
    expect(page.locator("#scope-words")).to_have_text(
        "Asking in legal, document “Employment contract 2019”"
    )
    turn = ask(page, NOTICE)
    expect(turn.locator(".turn-scope")).to_have_text(
        "Asked in legal, document “Employment contract 2019”"
    )
    assert source_titles(turn) == {"Employment contract 2019"}
    page.get_by_role("button", name="Clear filter").click()
    expect(page.locator("#scope-words")).to_have_text("Asking in legal")
    expect(page.get_by_role("checkbox", name="Employment contract 2019")).not_to_be_checked()
    expect(page.get_by_role("button", name="Clear filter")).to_be_hidden()

    # at phone width the panel fits
    page.get_by_role("button", name="Add a condition").click()
    page.set_viewport_size({"width": 375, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_an_upload_goes_into_the_chosen_collection(page, world, tmp_path):
    # all collections upload into default, which this key may not use: it asks for one
    expect(page.locator("#add-scope")).to_have_text(
        "Choose a collection above to add documents to."
    )
    page.get_by_label("Collection").select_option("hr")
    expect(page.locator("#add-scope")).to_have_text("Goes into the collection “hr”.")
    path = tmp_path / "canteen.txt"
    path.write_text("Canteen hours\n\nThe canteen opens at 11:30 every weekday.\n", "utf-8")
    page.set_input_files("#doc-file", path)
    page.get_by_role("button", name="Add document").click()
    expect(page.locator("#add-status")).to_have_text(re.compile(r"^Added “Canteen hours”"))
    expect(page.locator("#doc-list")).to_contain_text("Canteen hours")
    expect(page.locator("#collection option[value=hr]")).to_have_text("hr (2 documents)")
    listed = httpx.get(
        f"{world['base']}/documents", params={"collection": "hr"}, headers=world["admin"]
    ).json()["documents"]
    (canteen,) = [d for d in listed if d["title"] == "Canteen hours"]
    assert canteen["collection"] == "hr" and canteen["doc_id"].startswith("hr:")
    turn = ask(page, "When does the canteen open?")
    expect(turn.locator(".answer-text")).to_contain_text("11:30")
    url = f"{world['base']}/documents/{canteen['doc_id']}"
    assert httpx.delete(url, headers=world["admin"]).status_code == 204


def test_a_403_says_the_key_may_not_do_that_and_a_remembered_key_serves_new_tabs(watched, world):
    page = watched.page
    page.goto(f"{world['base']}/")
    enter_key(page, world["reader"], remember=True)
    expect(page.locator("#collection option")).to_have_text(["All collections", "hr (1 document)"])
    page.get_by_label("Collection").select_option("hr")
    page.get_by_label("Paste text").fill("The hr team meets on Mondays.")
    page.get_by_role("button", name="Add document").click()
    expect(page.locator("#add-status")).to_contain_text("This API key may not do that")
    expect(page.locator("#key-form")).to_be_hidden()

    # another tab of this browser: the remembered key, no question asked; "Forget it" forgets
    tab = watched.context.new_page()
    tab.goto(f"{world['base']}/")
    expect(tab.locator("#collection option")).to_have_count(2)
    expect(tab.locator("#key-form")).to_be_hidden()
    tab.get_by_role("button", name="Forget it").click()
    assert (
        tab.evaluate("localStorage.getItem('rag.apiKey') || sessionStorage.getItem('rag.apiKey')")
        is None
    )
