"""``python -m benchmarks upload-page``: a large file added through the chat page, as a user
adds it, followed to its end (issue 38, item 4).

A real ``rag serve`` (its default settings: the job threshold, the embedder) and the
Debian chromium: the file is chosen in the upload panel and "Add document" clicked; the
report says how long the page took to show the job (its progress bar), what the bar said
each second, and, with ``restart``, what a restart of the server in the middle of the job
did (SIGKILL or SIGTERM at ``restart_at`` of the passages, then started again on the same
port while the page keeps polling). At the end a question about a fact placed near the
end of the file is asked on the page.
"""

from __future__ import annotations

import signal
import tempfile
import time
from pathlib import Path

from benchmarks.browser import CHROMIUM, CHROMIUM_ARGS
from benchmarks.common import machine
from benchmarks.load import upload_text
from benchmarks.server import Server

FACT = "The Zorblax treasurer is Ottilie Vane."
QUESTION = "Who is the Zorblax treasurer?"
SIGNALS = {"kill": signal.SIGKILL, "term": signal.SIGTERM}


def _write_file(folder: Path, megabytes: float) -> Path:
    """About ``megabytes`` of report text with :data:`FACT` in its last section."""
    parts = upload_text(megabytes).split("\n\n")
    parts.insert(len(parts) - 2, FACT)
    path = folder / "long-report.txt"
    path.write_text("\n\n".join(parts) + "\n", "utf-8")
    return path


def _bar(line) -> dict:
    """What the upload's line shows now: state, bar value and max, its words."""
    bar, words = line.locator("progress.upload-bar"), line.locator(".upload-job")
    shown = bar.count() > 0
    return {
        "state": line.get_attribute("data-state"),
        "value": int(float(bar.get_attribute("value") or 0)) if shown else None,
        "max": int(float(bar.get_attribute("max") or 0)) if shown else None,
        "words": words.inner_text() if words.count() else "",
    }


def _follow(page, server: Server, restart: str | None, restart_at: float, limit: float) -> dict:
    """Samples of the line each second until the job ends; the restart on the way."""
    line = page.locator("#upload-progress .upload")
    t0, samples, restarted = time.perf_counter(), [], None
    while time.perf_counter() - t0 < limit:
        shown = _bar(line)
        samples.append({"s": round(time.perf_counter() - t0, 1), **shown})
        if shown["state"] in ("success", "error"):
            break
        total = shown["max"] or 0
        if restart and restarted is None and total > 1 and shown["value"] >= restart_at * total:
            down = time.perf_counter()
            server.kill(SIGNALS[restart])
            server.start()
            restarted = {
                "signal": restart,
                "at_passages": shown["value"],
                "of": total,
                "back_after_s": round(time.perf_counter() - down, 1),
            }
        time.sleep(1.0)
    return {"samples": samples, "restart": restarted, "followed_s": time.perf_counter() - t0}


def run(megabytes: float = 5.0, restart: str | None = "kill", restart_at: float = 0.3) -> dict:
    """Upload, follow, ask; ``restart``: ``kill``, ``term`` or ``None``."""
    from playwright.sync_api import expect, sync_playwright

    with tempfile.TemporaryDirectory(prefix="rag-bench-upload-page-") as tmp:
        server = Server.seeded(Path(tmp)).start()
        try:
            path = _write_file(Path(tmp), megabytes)
            size = path.stat().st_size
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(f"{server.base}/")
                expect(page.locator("#service-status")).to_have_attribute("data-state", "ok")
                page.set_input_files("#doc-file", path)
                clicked = time.perf_counter()
                page.get_by_role("button", name="Add document").click()
                line = page.locator("#upload-progress .upload")
                expect(line.locator("progress.upload-bar")).to_be_attached(timeout=60_000)
                job_s = time.perf_counter() - clicked
                followed = _follow(page, server, restart, restart_at, limit=1800)
                answer = _ask(page, expect)
                browser.close()
        finally:
            server.stop()
    samples = followed["samples"]
    return {
        "benchmark": "upload-page",
        "file_mb": round(size / 1e6, 2),
        "job_shown_s": round(job_s, 2),
        "final": samples[-1] if samples else None,
        "whole_s": round(job_s + followed["followed_s"], 1),
        "restart": followed["restart"],
        "question": QUESTION,
        "answer": answer,
        "samples": samples[:: max(1, len(samples) // 40)],
        "machine": machine(),
    }


def _ask(page, expect) -> str:
    """:data:`QUESTION` asked on the page: the answer it shows (or its abstention)."""
    box = page.get_by_label("Your question")
    box.fill(QUESTION)
    box.press("Enter")
    turn = page.locator(".turn").last
    expect(turn.locator(".reply-answer, .reply-abstain, .reply-error")).to_be_visible(
        timeout=60_000
    )
    found = turn.locator(".answer-text")
    return found.inner_text() if found.count() else turn.inner_text()


def table(report: dict) -> str:
    """One line of figures, then the bar's samples."""
    final, restart = report["final"] or {}, report["restart"]
    lines = [
        f"{report['file_mb']} MB file: job shown after {report['job_shown_s']} s; "
        f"ended {final.get('state')} after {report['whole_s']} s "
        f"({final.get('words', '')}); {report['question']} → {report['answer']}",
    ]
    if restart:
        lines.append(
            f"server restarted ({restart['signal']}) at {restart['at_passages']} of "
            f"{restart['of']} passages, back after {restart['back_after_s']} s"
        )
    lines += [
        f"  {s['s']:>7} s  {s['state']}  {s['value']}/{s['max']}  {s['words']}"
        for s in report["samples"]
    ]
    return "\n".join(lines)
