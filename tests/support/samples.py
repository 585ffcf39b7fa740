"""Sample documents shared by the format, CLI and page tests: a saved web page with
its boilerplate, and a PDF report built in the test."""

from __future__ import annotations

from tests.support.paths import FIXTURES
from tests.support.pdfs import make_pdf

PAGE = FIXTURES / "formats" / "kite-record.html"
BOILERPLATE = [
    "cookies",
    "Subscribe",
    "Share on",
    "Advertisement",
    "Related stories",
    "Leave a Reply",
    "email address",
    "All rights reserved",
    "Privacy policy",
    "By Liis Kask",
    "Weather",
]

FILLER = [
    f"Volunteers from district {n} repaired the frames, sewed new sails and logged "
    f"their hours in the workshop book, which the board reviewed every month."
    for n in range(1, 13)
]
# pages long enough (~250 words) that a passage falls within one page
REPORT_PAGES = [
    [
        "Annual Report of the Zorblax Kite Society",
        "The society counted 412 members in 2023.",
        *FILLER,
    ],
    [],
    [
        "Finances",
        *FILLER[:6],
        "The treasurer, Mira Tamm, reported a surplus of 3,200 euros.",
        *FILLER[6:],
        "The next festival will be held in Tartu.",
    ],
]


def report() -> bytes:
    return make_pdf(REPORT_PAGES, title="Zorblax Annual Report 2023", author="Mira Tamm")
