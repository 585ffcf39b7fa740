"""The page's upload panel follows a job (issue 38, item 4), in headless Chromium against a
real ``rag serve`` whose job threshold is 20,000 bytes: a large file's line shows a
progress bar of passages embedded that reaches its end, then the document is answerable;
a 5 MB file is answered with a job at once, and a cancelled job says so.

Watched as in test_page.py: a request to anything but the server, or an unexpected
console error, fails the test.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from benchmarks.server import Server
from tests.api.test_page import _watch, ask, browser  # noqa: F401 (a fixture)
from tests.support.texts import many_sentences

pytestmark = [pytest.mark.server, pytest.mark.browser]

FACT = "The Zorblax treasurer is Ottilie Vane."


@pytest.fixture(scope="module")
def base_url(tmp_path_factory) -> Iterator[str]:
    env = {"RAG_JOB_THRESHOLD_BYTES": "20000"}
    server = Server.seeded(tmp_path_factory.mktemp("page-jobs"), env).start()
    try:
        yield server.base
    finally:
        server.stop()


@pytest.fixture
def page(browser, base_url) -> Iterator[Page]:  # noqa: F811 (browser: the imported fixture)
    watched = _watch(browser, base_url, viewport={"width": 1280, "height": 900})
    watched.page.goto(f"{base_url}/")
    expect(watched.page.locator("#service-status")).to_have_attribute("data-state", "ok")
    yield watched.page
    try:
        watched.check()
    finally:
        watched.context.close()


def test_a_large_file_shows_its_progress_to_the_end_and_is_answerable(page, tmp_path):
    path = tmp_path / "minutes.txt"
    path.write_text(many_sentences(30_000, seed=31) + "\n\n" + FACT + "\n", "utf-8")
    page.set_input_files("#doc-file", path)
    page.get_by_role("button", name="Add document").click()
    line = page.locator("#upload-progress .upload")
    bar = line.locator("progress.upload-bar")
    expect(bar).to_be_visible(timeout=5_000)
    expect(line.locator(".upload-job")).to_contain_text(
        re.compile(r"passages embedded|reading|waiting")
    )
    expect(line).to_have_attribute("data-state", "success", timeout=240_000)
    expect(line).to_contain_text("added as “Minutes of the Zorblax Kite Society”")
    total = int(bar.get_attribute("max"))
    assert total > 20 and int(bar.get_attribute("value")) == total, "the bar at its end"
    expect(line.locator(".upload-job")).to_have_text(f"{total} passages embedded")
    expect(page.locator("#doc-list")).to_contain_text("Minutes of the Zorblax Kite Society")
    turn = ask(page, "Who is the Zorblax treasurer?")
    expect(turn.locator(".answer-text")).to_contain_text("Ottilie Vane")


def test_a_5_mb_file_is_a_job_at_once_and_a_cancelled_job_says_so(page, base_url, tmp_path):
    path = tmp_path / "report.txt"
    path.write_text(many_sentences(5_200_000, seed=32), "utf-8")
    page.set_input_files("#doc-file", path)
    clicked = time.perf_counter()
    page.get_by_role("button", name="Add document").click()
    line = page.locator("#upload-progress .upload")
    expect(line.locator("progress.upload-bar")).to_be_attached(timeout=10_000)
    answered = time.perf_counter() - clicked
    assert answered < 3, f"the job came after {answered:.2f} s"
    job_id = line.get_attribute("data-job")
    assert httpx.delete(f"{base_url}/jobs/{job_id}", timeout=10).status_code in (200, 202)
    expect(line).to_have_attribute("data-state", "error", timeout=120_000)
    expect(line).to_contain_text("not added: the upload was cancelled")


def test_a_long_pasted_text_is_a_job_followed_to_its_end(page):
    text = many_sentences(25_000, seed=33).replace("Zorblax Kite", "Quillon Glider", 1)
    page.get_by_label("Paste text").fill(text)
    page.get_by_role("button", name="Add document").click()
    line = page.locator("#upload-progress .upload")
    expect(line.locator(".upload-name")).to_have_text("the pasted text")
    expect(line).to_have_attribute("data-state", "success", timeout=240_000)
    expect(line.locator("progress.upload-bar")).to_have_js_property("position", 1)
    expect(page.locator("#add-status")).to_have_text(
        "Added “Minutes of the Quillon Glider Society”. You can ask about it now."
    )


def test_a_job_is_still_followed_while_the_server_does_not_answer(browser, base_url, tmp_path):  # noqa: F811
    """As while a restarting server is away: the job's polls fail for a while, the line
    says so instead of giving up, and follows the job to its end once they answer."""
    watched = _watch(browser, base_url, viewport={"width": 1280, "height": 900})
    watched.allow_errors(re.compile("Failed to load resource"))
    page = watched.page
    try:
        page.goto(f"{base_url}/")
        expect(page.locator("#service-status")).to_have_attribute("data-state", "ok")
        page.route("**/jobs/*", lambda route: route.abort("connectionrefused"))
        path = tmp_path / "away.txt"
        path.write_text(many_sentences(25_000, seed=34) + "\n\n" + FACT + "\n", "utf-8")
        page.set_input_files("#doc-file", path)
        page.get_by_role("button", name="Add document").click()
        line = page.locator("#upload-progress .upload")
        expect(line.locator(".upload-job")).to_contain_text("not answering", timeout=10_000)
        expect(line).to_have_attribute("data-state", "busy")
        page.unroute("**/jobs/*")
        expect(line).to_have_attribute("data-state", "success", timeout=240_000)
        expect(line.locator(".upload-job")).to_contain_text("passages embedded")
        watched.check()
    finally:
        watched.context.close()
