"""Screenshot of the chat page answering the seed question: docs/screenshot.png.

Starts `python -m rag serve` over a copy of seeds/ in a temporary folder (as the page
tests do), asks "Where was Kim invited?" in headless Chromium (the Debian package,
driven by Playwright) and saves a desktop-width screenshot.

    .venv/bin/python -m scripts.screenshot [--out docs/screenshot.png] [--dark]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from benchmarks.browser import CHROMIUM, CHROMIUM_ARGS
from benchmarks.server import Server

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "Where was Kim invited?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--dark", action="store_true", help="prefers-color-scheme: dark")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="rag-screenshot-") as tmp:
        server = Server.seeded(Path(tmp)).start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                context = browser.new_context(
                    viewport={"width": args.width, "height": args.height},
                    device_scale_factor=1,
                    color_scheme="dark" if args.dark else "light",
                    reduced_motion="reduce",
                )
                page = context.new_page()
                page.goto(f"{server.base}/")
                expect(page.locator("#service-status")).to_have_attribute("data-state", "ok")
                box = page.get_by_label("Your question")
                box.fill(QUESTION)
                box.press("Enter")
                expect(page.locator(".turn .reply-answer")).to_be_visible(timeout=90_000)
                page.evaluate("window.scrollTo(0, 0)")
                page.locator("#question").blur()
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out))
                browser.close()
        finally:
            server.stop()
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
