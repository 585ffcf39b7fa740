"""Long plain texts of many ordinary sentences, built in the test: what a large upload of
a report looks like to the sentence splitter (abbreviations, numbers, quotes, paragraphs),
the same on every run."""

from __future__ import annotations

import random

NAMES = ["Mira Tamm", "Dr. Liis Kask", "Jaan Ilves", "Prof. Anu Saar", "Mr. Toomas Org"]
PLACES = ["Tartu", "the U.S. office", "Narva", "the valley mill", "St. Petersburg"]
THINGS = ["the budget", "the kite frames", "a 3.5 km canal", "the board's report", "12 sails"]
VERBS = ["reviewed", "repaired", "questioned", "approved", "moved"]
TAILS = [
    "before the meeting ended.",
    "at 9 a.m. on Tuesday.",
    'and said "it will hold for years."',
    "(see p. 14 of the minutes).",
    "while the volunteers logged their hours, e.g. in the workshop book.",
    "because the committee had asked for it in 2023!",
    "— was it worth it?",
]


def sentence(rng: random.Random) -> str:
    return (
        f"{rng.choice(NAMES)} {rng.choice(VERBS)} {rng.choice(THINGS)} in "
        f"{rng.choice(PLACES)} {rng.choice(TAILS)}"
    )


def many_sentences(size: int, seed: int = 7) -> str:
    """About ``size`` characters of sentences in paragraphs of 3 to 9, under a title."""
    rng = random.Random(seed)
    parts, length = ["Minutes of the Zorblax Kite Society"], 0
    while length < size:
        paragraph = " ".join(sentence(rng) for _ in range(rng.randint(3, 9)))
        parts.append(paragraph)
        length += len(paragraph) + 2
    return "\n\n".join(parts)[:size].rstrip()
