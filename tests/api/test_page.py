"""The chat page and the document view, in headless Chromium, against a real `rag serve`.

Chromium is the Debian package (/usr/bin/chromium) driven by Playwright; nothing is
downloaded. Every test's page is watched: a request to anything but the server, a
console error or an uncaught exception fails the test (see ``Watched.check``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, expect, sync_playwright

from benchmarks.browser import CHROMIUM, CHROMIUM_ARGS
from benchmarks.server import Server
from tests.support.paths import ROOT

pytestmark = [pytest.mark.server, pytest.mark.browser]

ANSWER_TIMEOUT_MS = 90_000
SEED_QUESTION = "Where was Kim invited?"
UNANSWERABLE = "What is the tallest mountain in Africa?"
FAILED_LOAD = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d")


# ------------------------------------------------------------------ the server


@pytest.fixture(scope="module")
def base_url(tmp_path_factory) -> Iterator[str]:
    """`python -m rag serve` over a copy of seeds/, once for the whole module."""
    server = Server.seeded(tmp_path_factory.mktemp("page-server")).start()
    try:
        yield server.base
    finally:
        server.stop()


# ------------------------------------------------------------------ the browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class Watched:
    """A page whose requests, console errors and uncaught exceptions are recorded."""

    base: str
    context: BrowserContext
    page: Page
    requests: list[Request] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    allowed_errors: list[re.Pattern] = field(default_factory=list)

    def allow_errors(self, pattern: re.Pattern) -> None:
        """Console errors matching ``pattern`` are expected (4xx answers the test asked for)."""
        self.allowed_errors.append(pattern)

    def outside_requests(self) -> list[str]:
        return [
            r.url
            for r in self.requests
            if not (r.url.startswith(f"{self.base}/") or r.url.startswith(("data:", "about:")))
        ]

    def check(self) -> None:
        assert self.outside_requests() == [], "a request left the server's origin"
        unexpected = [e for e in self.errors if not any(p.search(e) for p in self.allowed_errors)]
        assert unexpected == [], "console errors or uncaught exceptions"


def _watch(browser: Browser, base: str, **context_options) -> Watched:
    context = browser.new_context(service_workers="block", **context_options)
    context.set_default_timeout(20_000)
    page = context.new_page()
    watched = Watched(base=base, context=context, page=page)
    context.on("request", lambda r: watched.requests.append(r))
    page.on("console", lambda m: m.type == "error" and watched.errors.append(m.text))
    page.on("pageerror", lambda exc: watched.errors.append(f"uncaught: {exc}"))
    return watched


@pytest.fixture
def watched(browser, base_url) -> Iterator[Watched]:
    w = _watch(browser, base_url, viewport={"width": 1280, "height": 800})
    yield w
    try:
        w.check()
    finally:
        w.context.close()


@pytest.fixture
def page(watched) -> Page:
    watched.page.goto(f"{watched.base}/")
    expect(watched.page.locator("#service-status")).to_have_attribute("data-state", "ok")
    return watched.page


def ask(page: Page, question: str):
    """Type the question, press Enter, and return the new turn once it has a reply."""
    before = page.locator(".turn").count()
    box = page.get_by_label("Your question")
    box.fill(question)
    box.press("Enter")
    turn = page.locator(".turn").nth(before)
    expect(turn.locator(".question-text")).to_have_text(question)
    expect(turn.locator(".reply-answer, .reply-abstain, .reply-error")).to_be_visible(
        timeout=ANSWER_TIMEOUT_MS
    )
    return turn


def in_viewport(page: Page, selector: str) -> bool:
    return page.evaluate(
        """(sel) => {
            const r = document.querySelector(sel).getBoundingClientRect();
            return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight
                && r.left >= 0 && r.right <= window.innerWidth;
        }""",
        selector,
    )


def add_text_document(base: str, title: str, text: str) -> dict:
    r = httpx.post(f"{base}/documents", json={"title": title, "text": text}, timeout=60)
    assert r.status_code in (200, 201), r.text
    return httpx.get(f"{base}/documents/{r.json()['doc_id']}", timeout=10).json()


# ------------------------------------------------------------------ asking


def test_answer_is_shown_with_confidence_and_highlighted_sources(page):
    page.evaluate(
        """() => {
            window.__sawLoading = false;
            new MutationObserver(() => {
                if (document.querySelector('.reply-loading[aria-busy="true"]')) {
                    window.__sawLoading = true;
                }
            }).observe(document.getElementById('turns'), {childList: true, subtree: true});
        }"""
    )
    turn = ask(page, SEED_QUESTION)

    assert page.evaluate("window.__sawLoading"), "a loading indicator showed while waiting"
    expect(turn.locator(".reply-loading")).to_have_count(0)
    reply = turn.locator(".reply-answer")
    expect(reply.locator(".answer-text")).to_have_text("Moscow")
    expect(reply.locator(".reply-head .confidence")).to_have_text(
        re.compile(r"^\d{1,3}% confidence$")
    )

    sources = reply.locator(":scope > .sources > .source")
    assert sources.count() >= 1
    first = sources.first
    assert first.locator(".source-title").inner_text().strip()
    expect(first.locator(".passage mark")).to_have_text("Moscow")
    marks = reply.locator(":scope > .sources .passage mark").all_inner_texts()
    assert marks and all(m.lower() == "moscow" for m in marks)
    expect(first.locator("a.source-link")).to_have_attribute(
        "href", re.compile(r"^/documents/[^/]+/view\?start=\d+&end=\d+$")
    )

    alternatives = reply.locator("details.alternatives")
    if alternatives.count():  # other answers are there, collapsed until asked for
        assert alternatives.get_attribute("open") is None
        expect(alternatives.locator(".alt").first).to_be_hidden()
        alternatives.locator("summary").click()
        expect(alternatives.locator(".alt .alt-text").first).to_be_visible()
        expect(alternatives.locator(".alt .source").first).to_be_visible()

    # Earlier turns stay above later ones.
    second = ask(page, UNANSWERABLE)
    expect(page.locator(".turn")).to_have_count(2)
    expect(page.locator(".turn").first.locator(".answer-text")).to_have_text("Moscow")
    assert second.bounding_box()["y"] > turn.bounding_box()["y"]


def test_abstaining_says_so_and_still_shows_the_closest_passages(page):
    turn = ask(page, UNANSWERABLE)
    reply = turn.locator(".reply-abstain")
    expect(reply).to_contain_text("The documents do not answer this question.")
    expect(turn.locator(".answer-text")).to_have_count(0)
    passages = reply.locator(":scope > .sources > .source")
    assert passages.count() >= 1
    assert len(passages.first.locator(".passage").inner_text().strip()) > 20
    expect(passages.first.locator("a.source-link")).to_have_attribute(
        "href", re.compile(r"^/documents/[^/]+/view\?start=\d+&end=\d+$")
    )


def test_source_link_opens_the_document_with_the_answer_highlighted_in_view(page, base_url):
    page.set_viewport_size({"width": 900, "height": 420})
    turn = ask(page, SEED_QUESTION)
    link = turn.locator(".reply-answer > .sources > .source a.source-link").first
    href = link.get_attribute("href")
    start, end = (int(x) for x in re.search(r"start=(\d+)&end=(\d+)", href).groups())
    doc_id = href.split("/")[2]

    link.click()
    page.wait_for_url(re.compile(r"/documents/[^/]+/view\?start=\d+&end=\d+$"))
    mark = page.locator("#doc-text mark")
    expect(mark).to_have_count(1)
    expect(mark).to_have_text("Moscow")
    document = httpx.get(f"{base_url}/documents/{doc_id}", timeout=10).json()
    assert document["text"][start:end] == "Moscow"
    expect(page.locator("#doc-text")).to_have_text(document["text"])
    expect(page.locator("h1")).to_have_text(document["title"])
    page.wait_for_function(
        """() => {
            const r = document.querySelector('#doc-text mark').getBoundingClientRect();
            return r.top >= 0 && r.bottom <= window.innerHeight;
        }"""
    )

    # Back to the conversation: it is still there.
    page.get_by_role("link", name="Back to the conversation", exact=True).click()
    page.wait_for_url(f"{base_url}/")
    expect(page.locator(".turn .answer-text")).to_have_text("Moscow")


def test_document_view_scrolls_a_far_span_into_view_and_counts_code_points(page, base_url):
    entries = "\n\n".join(
        f"Log entry {i} 🌊: the weather was calm and the lamp was cleaned." for i in range(160)
    )
    document = add_text_document(
        base_url, "Lighthouse log", f"{entries}\n\nThe Quibbleton lighthouse stands in Narvik."
    )
    text = document["text"]
    assert "🌊" in text, "characters outside the BMP make code points and UTF-16 differ"
    start = text.index("Narvik")
    page.goto(f"{base_url}/documents/{document['doc_id']}/view?start={start}&end={start + 6}")
    mark = page.locator("#doc-text mark")
    expect(mark).to_have_text("Narvik")
    assert page.evaluate("window.scrollY") > 1000
    assert in_viewport(page, "#doc-text mark")

    # Offsets outside the text: the whole document, nothing highlighted, a note.
    page.goto(f"{base_url}/documents/{document['doc_id']}/view?start=5&end=999999")
    expect(page.locator("#doc-note")).to_contain_text("not inside this document")
    expect(page.locator("#doc-text")).to_have_text(text)
    expect(page.locator("#doc-text mark")).to_have_count(0)
    httpx.delete(f"{base_url}/documents/{document['doc_id']}", timeout=30)


# ------------------------------------------------------------------ documents


def test_uploaded_file_is_listed_answered_from_and_deleted(page, base_url, tmp_path):
    path = tmp_path / "zorblax.txt"
    path.write_text(
        "Zorblax kites\n\nThe Zorblax kite festival is held every spring in Tartu.\n",
        encoding="utf-8",
    )
    page.set_input_files("#doc-file", path)
    page.get_by_role("button", name="Add document").click()
    expect(page.locator("#add-status")).to_have_text(re.compile(r"^Added “Zorblax kites”"))
    expect(page.locator("#doc-list")).to_contain_text("Zorblax kites")
    expect(page.locator("#service-status")).to_contain_text("4 documents")

    turn = ask(page, "Where is the Zorblax kite festival held?")
    expect(turn.locator(".answer-text")).to_contain_text("Tartu")
    expect(turn.locator(".reply-answer > .sources .source-title").first).to_have_text(
        "Zorblax kites"
    )
    expect(turn.locator(".reply-answer > .sources .passage mark").first).to_contain_text("Tartu")

    # Deleting asks first; cancelling keeps it.
    page.get_by_role("button", name="Delete “Zorblax kites”").click()
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#doc-list")).to_contain_text("Zorblax kites")
    page.get_by_role("button", name="Delete “Zorblax kites”").click()
    page.get_by_role("button", name="Yes, delete “Zorblax kites”").click()
    expect(page.locator("#doc-list-status")).to_have_text("Deleted “Zorblax kites”.")
    expect(page.locator("#doc-list")).not_to_contain_text("Zorblax kites")
    titles = [d["title"] for d in httpx.get(f"{base_url}/documents").json()["documents"]]
    assert "Zorblax kites" not in titles


HOSTILE_IMG = '<img src=x onerror="window.__pwned=1">'
HOSTILE_SCRIPT = "<script>window.__pwned=2</script>"


def test_hostile_document_is_shown_as_literal_text(watched, page, base_url):
    page.get_by_label("Title").fill("Beacon <b>notes</b>")
    page.get_by_label("Paste text").fill(
        f"The Vexmoor beacon is lit every winter in Bergen. {HOSTILE_IMG} {HOSTILE_SCRIPT}\n"
        "The keepers of the Vexmoor beacon gather in Bergen harbour."
    )
    page.get_by_role("button", name="Add document").click()
    expect(page.locator("#add-status")).to_have_text(re.compile(r"^Added “Beacon <b>notes</b>”"))
    expect(page.locator("#doc-list")).to_contain_text("Beacon <b>notes</b>")

    turn = ask(page, "Where is the Vexmoor beacon lit?")
    hostile = turn.locator(".source", has_text="Beacon <b>notes</b>").first
    expect(hostile.locator(".passage")).to_contain_text(HOSTILE_IMG)
    expect(hostile.locator(".passage")).to_contain_text(HOSTILE_SCRIPT)
    assert page.locator("main img, main script, main b").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"

    hostile.locator("a.source-link").click()
    page.wait_for_url(re.compile(r"/view"))
    expect(page.locator("h1")).to_have_text("Beacon <b>notes</b>")
    expect(page.locator("#doc-text")).to_contain_text(f"{HOSTILE_IMG} {HOSTILE_SCRIPT}")
    assert page.locator("main img, main script, main b").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert not [r.url for r in watched.requests if r.url.rstrip("/").endswith("/x")]


def test_api_key_is_asked_for_kept_and_asked_again_after_401(watched, base_url):
    page = watched.page
    page.route(
        "**/health",
        lambda route: route.fulfill(
            json={"status": "ok", "documents": 3, "chunks": 9, "api_key_required": True}
        ),
    )
    page.goto(f"{base_url}/")
    key_input = page.get_by_label("API key")
    expect(key_input).to_be_visible()

    page.get_by_label("Paste text").fill("The Plonkett regatta finishes in Turku every July.")
    page.get_by_role("button", name="Add document").click()
    expect(page.locator("#key-status")).to_contain_text("Enter the API key first")
    expect(key_input).to_be_focused()

    key_input.fill("first-key")
    page.get_by_role("button", name="Save key").click()
    expect(page.locator("#key-saved")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('rag.apiKey')") == "first-key"

    # The server refuses the key: the page says so and asks again.
    watched.allow_errors(FAILED_LOAD)
    refused = {"detail": "a valid 'Authorization: Bearer <key>' header is required for writes"}
    page.route(
        "**/documents",
        lambda route: (
            route.fulfill(status=401, json=refused)
            if route.request.method == "POST"
            else route.continue_()
        ),
    )
    with page.expect_request(lambda r: r.method == "POST") as first:
        page.get_by_role("button", name="Add document").click()
    assert first.value.headers.get("authorization") == "Bearer first-key"
    expect(page.locator("#add-status")).to_contain_text("API key was refused")
    expect(key_input).to_be_visible()
    expect(page.locator("#key-status")).to_contain_text("did not accept the API key")
    assert page.evaluate("sessionStorage.getItem('rag.apiKey')") is None

    page.unroute("**/documents")
    key_input.fill("second-key")
    key_input.press("Enter")
    with page.expect_request(lambda r: r.method == "POST") as second:
        page.get_by_role("button", name="Add document").click()
    assert second.value.headers.get("authorization") == "Bearer second-key"
    expect(page.locator("#add-status")).to_contain_text("Added")
    for d in httpx.get(f"{base_url}/documents").json()["documents"]:
        if d["title"].startswith("The Plonkett regatta"):
            assert httpx.delete(f"{base_url}/documents/{d['doc_id']}").status_code == 204


# ------------------------------------------------------------------ errors


def test_api_errors_and_network_failures_are_shown_in_the_conversation(watched, page):
    watched.allow_errors(FAILED_LOAD)
    watched.allow_errors(re.compile(r"net::ERR_FAILED"))
    page.route(
        "**/ask",
        lambda route: route.fulfill(
            status=422,
            json={
                "detail": [
                    {"loc": ["body", "question"], "msg": "the question is too long", "type": "x"}
                ]
            },
        ),
    )
    turn = ask(page, "Why is the sky blue?")
    expect(turn.locator(".reply-error")).to_contain_text("question: the question is too long")

    page.unroute("**/ask")
    page.route("**/ask", lambda route: route.abort("failed"))
    turn = ask(page, SEED_QUESTION)
    expect(turn.locator(".reply-error")).to_contain_text("Could not reach the server")

    page.unroute("**/ask")
    turn.get_by_role("button", name="Try again").click()
    expect(turn.locator(".answer-text")).to_have_text("Moscow", timeout=ANSWER_TIMEOUT_MS)


# ------------------------------------------------------------------ offline, CSP, a11y


def test_every_request_stays_on_the_server_and_the_console_stays_clean(watched, page):
    turn = ask(page, SEED_QUESTION)
    turn.locator(".reply-answer > .sources a.source-link").first.click()
    expect(page.locator("#doc-text mark")).to_have_text("Moscow")

    urls = [r.url for r in watched.requests]
    scripts = ("app", "common", "chat", "answers", "documents", "upload", "key")
    for path in ("/", *(f"/static/{s}.js" for s in scripts), "/static/style.css", "/ask"):
        assert f"{watched.base}{path}" in urls
    assert any("/view?start=" in u for u in urls)
    assert any(u.endswith("/static/document.js") for u in urls)
    assert watched.outside_requests() == []
    assert watched.errors == []


class _InlineFinder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {name.lower() for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("<style> element")
        self.problems += [f"{tag} {n}=" for n in names if n == "style" or n.startswith("on")]
        for name, value in attrs:
            if name in ("src", "href") and value and re.match(r"(https?:)?//", value):
                self.problems.append(f"third-party {value}")


def test_csp_forbids_inline_scripts_and_other_origins(watched, page, base_url):
    for path in ("/", "/static/app.js", "/static/style.css", "/documents/x/view"):
        r = httpx.get(f"{base_url}{path}", timeout=10)
        assert r.status_code == 200, path
        csp = r.headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["script-src"] == "'self'"
        assert directives["default-src"] == "'self'"
        assert "'unsafe-inline'" not in csp and "*" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["cache-control"] == "no-cache", "an upgrade is picked up at once"
    docs = httpx.get(f"{base_url}/docs", timeout=10)
    assert docs.status_code == 200 and "swagger" in docs.text.lower()

    for name in ("index.html", "document.html"):
        finder = _InlineFinder()
        finder.feed((ROOT / "api" / "static" / name).read_text(encoding="utf-8"))
        assert finder.problems == [], name

    # The browser enforces it: an injected inline script does not run.
    watched.allow_errors(re.compile(r"Content Security Policy"))
    blocked = page.evaluate(
        """() => new Promise((resolve) => {
            document.addEventListener('securitypolicyviolation',
                (e) => resolve(e.violatedDirective), {once: true});
            const s = document.createElement('script');
            s.textContent = 'window.__inline = 1';
            document.body.append(s);
        })"""
    )
    assert blocked.startswith("script-src")
    assert page.evaluate("typeof window.__inline") == "undefined"


def test_keyboard_only_use(page):
    focused = "document.activeElement && document.activeElement.id"
    for _ in range(15):
        page.keyboard.press("Tab")
        if page.evaluate(focused) == "question":
            break
    assert page.evaluate(focused) == "question", "Tab reaches the question box"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"

    page.keyboard.type("first line")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")
    expect(page.locator("#question")).to_have_value("first line\nsecond line")
    expect(page.locator(".turn")).to_have_count(0)

    page.keyboard.press("Control+A")
    page.keyboard.type(SEED_QUESTION)
    page.keyboard.press("Enter")
    expect(page.locator(".turn .answer-text")).to_have_text("Moscow", timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator("#question")).to_have_value("")
    expect(page.locator("#question")).to_be_focused()

    for _ in range(60):
        page.keyboard.press("Shift+Tab")
        if page.evaluate(focused) == "new-conversation":
            break
    assert page.evaluate(focused) == "new-conversation"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    expect(page.locator(".turn")).to_have_count(0)
    expect(page.locator("#empty-state")).to_be_visible()
    expect(page.locator("#question")).to_be_focused()
    assert page.evaluate("sessionStorage.getItem('rag.conversation')") is None


def test_labelled_controls(page):
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('button, input, textarea, select, a[href]')]
            .filter((el) => !el.closest('[hidden]'))
            .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.textContent.trim())
            .map((el) => el.outerHTML)"""
    )
    assert unlabelled == []
    page.get_by_label("Your question")
    expect(page.get_by_label(re.compile(r"^Upload files"))).to_have_attribute("type", "file")
    expect(page.get_by_role("button", name="New conversation")).to_be_visible()


def test_phone_width_has_no_horizontal_scrolling(browser, base_url):
    w = _watch(browser, base_url, viewport={"width": 375, "height": 740}, is_mobile=True)
    try:
        page = w.page
        page.goto(f"{base_url}/")
        turn = ask(page, SEED_QUESTION)
        details = turn.locator("details.alternatives")
        if details.count():
            details.locator("summary").click()
        ask(page, UNANSWERABLE)
        width = "document.documentElement.scrollWidth"
        assert page.evaluate(width) <= 375
        expect(page.get_by_label("Your question")).to_be_visible()
        expect(page.get_by_role("heading", name="Documents", exact=True)).to_be_attached()

        turn.locator("a.source-link").first.click()
        expect(page.locator("#doc-text mark")).to_have_text("Moscow")
        assert page.evaluate(width) <= 375
        w.check()
    finally:
        w.context.close()


def test_conversation_is_kept_in_session_storage_only(page):
    ask(page, SEED_QUESTION)
    saved = json.loads(page.evaluate("sessionStorage.getItem('rag.conversation')"))
    assert [t["question"] for t in saved] == [SEED_QUESTION]
    page.reload()
    expect(page.locator(".turn .answer-text")).to_have_text("Moscow")
    page.get_by_role("button", name="New conversation").click()
    expect(page.locator(".turn")).to_have_count(0)


def test_a_follow_up_is_resolved_from_the_conversation_and_the_reading_shown(page):
    first = ask(page, SEED_QUESTION)
    expect(first.locator(".understood")).to_be_hidden()
    follow_up = ask(page, "Who invited him?")
    expect(follow_up.locator(".understood")).to_have_text("Understood as “Who invited Kim?”")
    expect(follow_up.locator(".answer-text")).to_contain_text("Lavrov")
    page.reload()  # the conversation, and what it says, survive a reload
    expect(page.locator(".turn").nth(1).locator(".understood")).to_be_visible()
    after = ask(page, "When?")  # the history goes on after the reload
    expect(after.locator(".understood")).to_contain_text("When")
    expect(after.locator(".understood")).to_contain_text("Kim")
    page.get_by_role("button", name="New conversation").click()
    fresh = ask(page, "Who invited him?")  # nothing to follow on from
    expect(fresh.locator(".understood")).to_be_hidden()


def test_several_files_are_uploaded_with_a_line_each_and_pdf_pages_cited(
    watched, page, base_url, tmp_path
):
    watched.allow_errors(FAILED_LOAD)  # the scanned PDF's 422
    from tests.service.test_locations import HANDBOOK
    from tests.support.pdfs import make_pdf
    from tests.support.samples import PAGE, report

    files = {
        "kite-record.html": PAGE.read_bytes(),
        "annual-report.pdf": report(),
        "scan.pdf": make_pdf([[]]),
        "setup.exe": b"MZ\x90\x00",
        "handbook.md": HANDBOOK.encode(),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    seeds = {d["doc_id"] for d in httpx.get(f"{base_url}/documents").json()["documents"]}
    types = httpx.get(f"{base_url}/health").json()["file_types"]
    # the page offers the types the server reads (one list, in rag.documents.formats)
    expect(page.locator("#doc-file")).to_have_attribute("accept", ",".join(types))
    expect(page.locator("#file-types")).to_have_text(", ".join(types))
    page.set_input_files("#doc-file", [tmp_path / name for name in files])
    page.get_by_role("button", name="Add document").click()
    lines = page.locator("#upload-progress .upload")
    expect(page.locator("#add-status")).to_have_text("3 files added, 2 not.", timeout=60_000)
    expect(lines).to_have_count(5)
    expect(lines.nth(0)).to_contain_text("added as “Kite stays aloft for 31 hours")
    expect(lines.nth(1)).to_contain_text("added as “Zorblax Annual Report 2023”")
    expect(lines.nth(2)).to_contain_text("no text layer")
    expect(lines.nth(3)).to_contain_text(f"only {', '.join(types)} files")
    expect(lines.nth(4)).to_contain_text("added as “Staff handbook”")
    listed = httpx.get(f"{base_url}/documents").json()["documents"]
    ids = {d["title"]: d["doc_id"] for d in listed}
    kite = ids["Kite stays aloft for 31 hours over Lake Peipsi"]
    try:
        turn = ask(page, "Who reported a surplus of 3,200 euros?")
        expect(turn.locator(".answer-text")).to_contain_text("Mira Tamm")
        source = turn.locator(".reply-answer > .sources .source").first
        expect(source.locator(".source-title")).to_have_text("Zorblax Annual Report 2023")
        expect(source.locator(".source-pages")).to_have_text("p. 3")
        turn = ask(page, "Who do staff give notice of leave to?")
        expect(turn.locator(".answer-text")).to_contain_text("Ilse Varmann")
        source = turn.locator(".reply-answer > .sources .source").first
        expect(source.locator(".source-location")).to_have_text("Staff handbook › Leave › Notice")

        page.goto(f"{base_url}/documents/{kite}/view")
        expect(page.locator("#doc-meta")).to_contain_text("by Liis Kask · 2024-05-19")
        link = page.locator("#doc-meta a")
        expect(link).to_have_attribute("href", re.compile(r"^https://baltic-daily\.example/"))
        expect(page.locator("#doc-text")).not_to_contain_text("Share on Facebook")
    finally:
        for doc_id in ids.values():
            if doc_id not in seeds:
                httpx.delete(f"{base_url}/documents/{doc_id}")


# ------------------------------------------------------------------ feedback

SELECT_WORDS = """([turn, words]) => {
    // Select `words` in a passage of turn `turn`, as a user dragging over them would.
    const card = document.querySelectorAll('.turn')[turn];
    for (const passage of card.querySelectorAll('.passage')) {
        const walker = document.createTreeWalker(passage, NodeFilter.SHOW_TEXT);
        const nodes = [];
        let all = '';
        while (walker.nextNode()) {
            nodes.push([walker.currentNode, all.length]);
            all += walker.currentNode.data;
        }
        const i = all.indexOf(words);
        if (i < 0) continue;
        const at = (k, end) => {
            const [node, from] = nodes.findLast(([, f]) => (end ? f < k : f <= k));
            return [node, k - from];
        };
        const range = document.createRange();
        range.setStart(...at(i, false));
        range.setEnd(...at(i + words.length, true));
        document.getSelection().removeAllRanges();
        document.getSelection().addRange(range);
        return true;
    }
    return false;
}"""


def test_right_confirms_an_answer_shown_again_as_confirmed(page):
    question = "Who extended the offer to Kim?"
    turn = ask(page, question)
    answer = turn.locator(".answer-text").inner_text()
    expect(turn.locator(".confirmed")).to_have_count(0)
    turn.get_by_role("button", name="Right", exact=True).click()
    expect(turn.locator(".feedback-status")).to_have_text(re.compile("confirmed"))
    again = ask(page, question)
    expect(again.locator(".answer-text")).to_have_text(answer)
    expect(again.locator(".reply-head .confirmed")).to_have_text("✓ Confirmed by a user")
    expect(again.locator(".reply-head .confidence")).to_have_text("100% confidence")


def test_words_selected_in_a_cited_passage_become_the_confirmed_answer(page, base_url):
    question = "Where will the financial discussion be held?"
    words = "the far eastern city of Vladivostok"
    turn = ask(page, question)
    turn.get_by_role("button", name="The answer is here…").click()
    expect(turn.locator(".feedback-status")).to_contain_text("Select the words")
    assert page.evaluate(SELECT_WORDS, [page.locator(".turn").count() - 1, words])
    turn.get_by_role("button", name="Mark as the answer").click()
    expect(turn.locator(".feedback-status")).to_have_text(
        f"Saved: “{words}” is the answer. Ask again to see it used."
    )
    (stored,) = [
        f for f in httpx.get(f"{base_url}/feedback").json()["feedback"] if f["question"] == question
    ]
    text = httpx.get(f"{base_url}/documents/{stored['doc_id']}").json()["text"]
    assert stored["verdict"] == "corrected" and stored["text"] == words
    assert text[stored["start"] : stored["end"]] == words  # code points, as the API counts
    again = ask(page, question)
    expect(again.locator(".answer-text")).to_have_text(words)
    expect(again.locator(".confirmed")).to_be_visible()
    expect(again.locator(":scope .reply-answer > .sources .passage mark").first).to_have_text(words)


def test_the_answer_is_marked_in_the_document_view_and_used(page, base_url):
    question = "Who said Kim may visit Russia?"
    words = "Dmitry Peskov"
    turn = ask(page, question)
    turn.get_by_role("button", name="The answer is here…").click()
    turn.get_by_role("link", name="or select it in the document").click()
    expect(page.locator("#doc-text mark")).to_be_visible()
    found = page.evaluate(
        """(words) => {
            const box = document.getElementById('doc-text');
            const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
            while (walker.nextNode()) {
                const i = walker.currentNode.data.indexOf(words);
                if (i < 0) continue;
                const range = document.createRange();
                range.setStart(walker.currentNode, i);
                range.setEnd(walker.currentNode, i + words.length);
                document.getSelection().removeAllRanges();
                document.getSelection().addRange(range);
                return true;
            }
            return false;
        }""",
        words,
    )
    assert found
    page.get_by_role("button", name="Mark as the answer").click()
    expect(page.locator(".feedback-panel .form-status")).to_have_text(
        f"Saved: “{words}” is the answer. Ask again to see it used."
    )
    page.goto(f"{base_url}/")
    again = ask(page, question)
    expect(again.locator(".answer-text")).to_have_text(words)
    expect(again.locator(".confirmed")).to_be_visible()
