"""Sample scanned PDFs: pages of clear print drawn by Pillow and saved as image-only PDF
pages (no text layer), as a scanner writes them; the fact on the second page, so that
both the OCR text and its page number are checked.

Usage::

    samples = make_samples(Path("corpus"), count=2, seed=0)
"""

from __future__ import annotations

import random
from pathlib import Path

from benchmarks.samples import Sample

_TOWNS = ["Kärdla", "Valga", "Rapla", "Paide", "Jõgeva", "Põlva", "Türi", "Elva"]
_NAMES = ["Heino Rebane", "Maret Kuusk", "Toomas Ilves", "Anu Saar", "Rein Sepp", "Kaja Mets"]
_FILLER = (
    "The committee met in the spring to review the year's accounts and plans.",
    "Members discussed the maintenance of the hall and the library opening hours.",
    "A survey of residents found broad support for longer summer opening hours.",
    "The minutes of the previous meeting were read out and approved without change.",
)


def _page(lines: list[str]):
    """A white A4-shaped page at 150 dpi with ``lines`` in black, as a scan of print."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1240, 1754), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=30)
    y = 150
    for line in lines:
        draw.text((120, y), line, fill=0, font=font)
        y += 52
    return image


def make_samples(folder: Path, count: int = 2, seed: int = 0) -> list[Sample]:
    """``count`` two-page scans in ``folder``, each with its own made-up treasurer."""
    rng = random.Random(seed)
    samples = []
    for i in range(count):
        town, name = _TOWNS[i % len(_TOWNS)], _NAMES[(i + seed) % len(_NAMES)]
        amount = rng.randrange(1_000, 9_000, 50)
        first = [f"{town} Village Society", "Annual minutes", "", *rng.sample(_FILLER, 3)]
        fact = f"The treasurer {name} reported a surplus of {amount} euros."
        second = [*rng.sample(_FILLER, 2), "", fact, "", rng.choice(_FILLER)]
        path = folder / f"minutes-{i:02d}.pdf"
        pages = [_page(first), _page(second)]
        pages[0].save(path, "PDF", resolution=150, save_all=True, append_images=pages[1:])
        question = f"Who reported a surplus of {amount} euros for the {town} Village Society?"
        samples.append(Sample(path, question, name, {"page": 2}))
    return samples
