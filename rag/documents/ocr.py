"""Scanned PDF pages read with OCR: pdfium renders the page, tesseract reads the image.

A scanned PDF is pictures of pages: pypdf finds no text in it, and before OCR the service
refused such a file. A page is read by OCR only when it needs it: its text layer holds
fewer than :data:`MIN_LETTERS` letters (a page number, a stamp or a running header is no
text layer) and it shows an image (a scan is an image XObject; a blank separator page
costs nothing). Pages with a text layer keep it: it is exact, and OCR only approximates.

Why these tools: pdfium (``pypdfium2``, Apache-2.0/BSD wheels) renders without poppler
or ghostscript (GPL/AGPL); Debian's ``tesseract-ocr`` reads English print well. It is
called as a process of its own, the image on its stdin (no temporary files), under a
time limit per page, one OpenMP thread (with more, on two busy cores, a page took 10 s
instead of 1.7 s), and, in the parse worker, made to die with the worker: a worker
killed past its time limit or on shutdown takes its tesseract with it.

Every page is rendered at :data:`RENDER_DPI`, at most :data:`MAX_PIXELS` pixels, so a
page that claims to be a square kilometre cannot exhaust memory. Measured on a 2-core
Xeon (letter pages of random words, blurred, noisy, JPEG): 200 dpi read 98–99 % of the
words of 8 and 11 pt print scanned at 150–300 dpi in 2–4 s a dense page; 300 dpi was no
better and 30–60 % slower.

Nothing here is imported by the service itself: the parse worker imports it with the
PDF extractor (:mod:`rag.documents.formats`), and pdfium and Pillow only when a page
needs OCR.
"""

from __future__ import annotations

import io
import itertools
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rag.core.errors import IngestError, LimitExceeded

if TYPE_CHECKING:
    from rag.core.settings import Settings

#: Rendering resolution (see the module's docstring for the measurement).
RENDER_DPI = 200
#: Most pixels a rendered page may have (an A3 page at 200 dpi is 7.7 million): a
#: larger page is rendered at a lower resolution. 12 MB of grey levels.
MAX_PIXELS = 12_000_000
#: Longest side of a rendered page, in pixels (a page a metre long and a centimetre wide
#: stays within what tesseract reads).
MAX_SIDE = 10_000
#: A text layer of fewer letters than this is taken as no text layer ("Page 3 of 12" and
#: a Bates stamp are below it). A page of a caption and a picture is read by OCR then,
#: caption included: a second or two, and no text lost.
MIN_LETTERS = 20
#: A rendered page whose darkest grey level is lighter than this is blank: no OCR.
BLANK_LEVEL = 224
#: Image XObjects looked at per page (forms within forms included), at most.
_MAX_XOBJECTS = 256
_LETTER = re.compile(r"[^\W\d_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class OcrOptions:
    """Whether and how scanned pages are read (``RAG_OCR*``, docs/configuration.md):
    at most ``max_pages`` pages of one PDF, each within ``page_seconds``. ``started``,
    if given, is told how many pages OCR is about to read (the parse worker tells the
    service, which then gives the job their time)."""

    enabled: bool = True
    max_pages: int = 20
    page_seconds: float = 30.0
    command: str = "tesseract"
    language: str = "eng"
    started: Callable[[int], None] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> OcrOptions:
        return cls(
            enabled=settings.ocr,
            max_pages=settings.ocr_max_pages,
            page_seconds=settings.ocr_page_seconds,
            command=settings.ocr_command,
        )

    def to_json(self) -> dict:
        """The options as a parse job sends them (no callback)."""
        return {
            "enabled": self.enabled,
            "max_pages": self.max_pages,
            "page_seconds": self.page_seconds,
            "command": self.command,
            "language": self.language,
        }

    def unavailable(self) -> str | None:
        """Why scans cannot be read here, or None: said in the refusal of a scan."""
        if not self.enabled:
            return "OCR is off here (RAG_OCR): run OCR on it first"
        if shutil.which(self.command) is None:
            return (
                f"OCR needs tesseract, and {self.command} is not installed (install "
                "tesseract-ocr), or run OCR on it first"
            )
        return None


def lacks_text(text: str) -> bool:
    """Whether a page's text layer is as good as none (fewer than MIN_LETTERS letters)."""
    return sum(1 for _ in itertools.islice(_LETTER.finditer(text), MIN_LETTERS)) < MIN_LETTERS


def shows_image(page) -> bool:
    """Whether a pypdf page draws an image XObject, itself or in a form it draws (up to
    three forms deep): what a scanner or an OCR-less PDF printer makes of a page. Only the
    resources are read, not the content, so it costs next to nothing. Broken resources
    are no image: a PDF read before OCR existed must not become unreadable by it."""
    try:
        return _shows_image(page)
    except MemoryError:
        raise
    except Exception:  # pypdf's errors on what a crafted file makes of its resources
        return False


def _shows_image(page) -> bool:
    stack, seen = [(page.get("/Resources"), 0)], 0
    while stack:
        resources, depth = stack.pop()
        resources = resources.get_object() if resources is not None else None
        xobjects = resources.get("/XObject") if hasattr(resources, "get") else None
        xobjects = xobjects.get_object() if xobjects is not None else None
        if not hasattr(xobjects, "values"):
            continue
        for ref in xobjects.values():
            seen += 1
            if seen > _MAX_XOBJECTS:
                return False
            found = ref.get_object()
            subtype = found.get("/Subtype") if hasattr(found, "get") else None
            if subtype == "/Image":
                return True
            if subtype == "/Form" and depth < 3:
                stack.append((found.get("/Resources"), depth + 1))
    return False


def read_pages(
    data: bytes,
    name: str,
    numbers: list[int],
    options: OcrOptions,
    started: Callable[[int], None] | None = None,
) -> list[str]:
    """The text OCR reads on the pages ``numbers`` (0-based) of the PDF ``data``, in that
    order ("" for a blank page). More pages than ``options.max_pages`` is a
    :class:`LimitExceeded` before any is read; ``started(len(numbers))`` is called then
    (the parse worker asks the service for the pages' time). A page past
    ``options.page_seconds`` is a :class:`LimitExceeded`, a failure of tesseract or
    pdfium an :class:`IngestError`, each one line naming the page."""
    if len(numbers) > options.max_pages:
        raise LimitExceeded(
            f"{name}: {len(numbers)} scanned pages to read by OCR, more than "
            f"{options.max_pages} (RAG_OCR_MAX_PAGES)"
        )
    if started is not None:
        started(len(numbers))
    import pypdfium2

    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        raise IngestError(f"{name}: not a readable PDF for OCR ({_line(str(exc))})") from None
    try:
        return [_read_page(pdf, number, name, options) for number in numbers]
    finally:
        pdf.close()


def _read_page(pdf, number: int, name: str, options: OcrOptions) -> str:
    """One page rendered and read within ``options.page_seconds`` (both count)."""
    began = time.monotonic()
    rendered = _render(pdf, number, name)
    if rendered is None:
        return ""
    image, dpi = rendered
    left = options.page_seconds - (time.monotonic() - began)
    if left <= 0:
        raise _too_slow(name, number, options)
    try:
        done = subprocess.run(
            [options.command, "stdin", "stdout", "-l", options.language, "--dpi", str(dpi)],
            input=image,
            capture_output=True,
            timeout=left,
            env={**os.environ, "OMP_THREAD_LIMIT": "1"},
            preexec_fn=_die_with_parent(),
        )
    except subprocess.TimeoutExpired:
        raise _too_slow(name, number, options) from None
    except OSError as exc:
        raise IngestError(f"{name}: OCR of page {number + 1} failed ({exc})") from None
    if done.returncode != 0:
        raise IngestError(
            f"{name}: OCR of page {number + 1} failed ({_reason(done.stderr, done.returncode)})"
        )
    return _tidy(done.stdout.decode("utf-8", "replace"))


def _render(pdf, number: int, name: str) -> tuple[bytes, int] | None:
    """Page ``number`` as a grey PNG of at most MAX_PIXELS, and its resolution (dpi);
    None if the page is blank, has no area, or pdfium does not have it."""
    from pypdfium2 import PdfiumError

    try:
        if number >= len(pdf):
            return None
        page = pdf[number]
        width, height = page.get_size()
        if not (width > 0 and height > 0):
            return None
        scale = min(
            RENDER_DPI / 72, (MAX_PIXELS / (width * height)) ** 0.5, MAX_SIDE / max(width, height)
        )
        image = page.render(scale=scale, grayscale=True, draw_annots=False).to_pil()
    except PdfiumError as exc:
        message = f"{name}: page {number + 1} cannot be rendered for OCR ({_line(str(exc))})"
        raise IngestError(message) from None
    if image.mode != "L":
        image = image.convert("L")
    darkest, _ = image.getextrema()
    if darkest >= BLANK_LEVEL or min(image.size) < 8:
        return None
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    image.close()
    return buffer.getvalue(), max(1, round(scale * 72))


def _die_with_parent() -> Callable[[], None] | None:
    """In the single-threaded parse worker, a function that makes the child process die
    with it (Linux's PR_SET_PDEATHSIG): the service kills a worker past its time limit,
    and its tesseract must not run on. None elsewhere (a pre-exec function is unsafe in a
    process with threads; there the page's own time limit ends tesseract)."""
    if sys.platform != "linux" or threading.active_count() > 1:
        return None
    import ctypes
    import signal

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def bind() -> None:
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the worker died before the line above
            os._exit(1)

    return bind


def _too_slow(name: str, number: int, options: OcrOptions) -> LimitExceeded:
    return LimitExceeded(
        f"{name}: OCR of page {number + 1} exceeded {options.page_seconds:g} s "
        "(RAG_OCR_PAGE_SECONDS)"
    )


def _reason(stderr: bytes, code: int) -> str:
    """The line of tesseract's complaint that says most (a missing language, an
    unreadable image), else its exit status."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()]
    lines = [line for line in lines if line]
    for line in lines:
        if "language" in line.lower():
            return _line(line)
    return _line(lines[-1]) if lines else f"tesseract exit status {code}"


def _line(text: str) -> str:
    return " ".join(text.split())[:200]


def _tidy(text: str) -> str:
    """OCR output as page text, as a text layer's is made (NFC, no control characters):
    a paragraph per block, its lines joined, a word broken by a hyphen at a line end
    joined back."""
    text = unicodedata.normalize("NFC", _CONTROL.sub("", text.replace("\f", "\n")))
    text = re.sub(r"(\w)-\n(\w)", r"\1\2", text)
    paragraphs = re.split(r"\n\s*\n", text)
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())
