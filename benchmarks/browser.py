"""The Debian chromium as the page tests and the screenshot script launch it (Playwright,
no browser download)."""

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium phones home at start, and this
# machine's closed network refuses it.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
