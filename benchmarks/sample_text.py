"""Made-up prose and tables for sample files: distractor sentences, and facts (a sentence
or a table row) that answer exactly one question in a whole corpus.

Every name is invented from syllables and used once per :class:`Words`, so a question
("Who designed the Korvalen observatory?") has one answer in the corpus, and no model
could know it beforehand. Distractors share the facts' vocabulary (other observatories,
other depots), so finding the right passage is not a matter of rare words alone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

_ONSETS = ["k", "v", "m", "t", "r", "s", "l", "d", "b", "n", "br", "st", "gr", "th", "z", "h"]
_VOWELS = ["a", "e", "i", "o", "u", "au", "ei", "y"]
_CODAS = ["", "n", "r", "l", "s", "m", "th", "nd", "rk", "ll"]
_FIRST = [
    "Ilse", "Oskar", "Mira", "Tomas", "Anneli", "Jakob", "Selma", "Ruben", "Liis", "Edvin",
    "Greta", "Henrik", "Maren", "Pavel", "Ines", "Aurel", "Katri", "Lennart", "Noor", "Ivo",
]  # fmt: skip
_MONTHS = ["January", "March", "April", "June", "September", "October", "November"]
_TOPICS = [
    "harbour dredging", "school meals", "street lighting", "flood defence", "cycle lanes",
    "library hours", "allotment rents", "bus timetables", "winter gritting", "museum loans",
]  # fmt: skip
_DISTRACTORS = [
    "The {place} council reviewed the {topic} plan in {month}.",
    "Volunteers from {place} repaired {n} benches along the river path.",
    "{person} presented the report on {topic} to the board in {month}.",
    "A survey of {n} households in {place} found broad support for {topic}.",
    "The working group on {topic} will meet again after the {month} recess.",
    "Maintenance of the {place} tram depot is planned for {month} {year}.",
    "{person} chairs the standing committee on {topic}.",
    "The {place} archive moved {n} boxes of records to its new reading room.",
    "Residents of {place} asked for a public hearing on {topic}.",
    "The {place} observatory was renovated in {year} with a grant for {topic}.",
    "In {year} the {place} rowing club opened a second boathouse.",
    "The budget for {topic} rose by {n} thousand euros in {year}.",
]
#: (sentence, question, answer): a fact about ``{place}`` that only it answers.
_FACTS = [
    ("The {place} observatory was designed by the architect {person}.",
     "Who designed the {place} observatory?", "{person}"),
    ("The {place} ferry line carried {big} passengers in its first season.",
     "How many passengers did the {place} ferry line carry in its first season?", "{big}"),
    ("The {place} rowing club was founded in {year}.",
     "In which year was the {place} rowing club founded?", "{year}"),
    ("The annual {place} lantern festival is held in {town} every {month}.",
     "Where is the annual {place} lantern festival held?", "{town}"),
    ("The {place} seed bank is run by {person}.",
     "Who runs the {place} seed bank?", "{person}"),
    ("The {place} footbridge has a length of {n} metres.",
     "What is the length of the {place} footbridge?", "{n} metres"),
]  # fmt: skip


@dataclass(frozen=True)
class Fact:
    """A sentence (or table row) and the one question it answers."""

    text: str
    question: str
    answer: str


@dataclass(frozen=True)
class Table:
    """A table whose row ``fact_row`` (0-based, among ``rows``) answers ``question``."""

    title: str
    headers: list[str]
    rows: list[list[object]]
    fact_row: int
    question: str
    answer: str


class Words:
    """Names used once, distractor prose, facts and tables, from one seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def name(self) -> str:
        """A made-up name never given before ("Korvalen")."""
        while True:
            parts = [
                self.rng.choice(_ONSETS) + self.rng.choice(_VOWELS) + self.rng.choice(_CODAS)
                for _ in range(self.rng.choice((2, 2, 3)))
            ]
            word = "".join(parts).capitalize()
            if 5 <= len(word) <= 11 and word not in self.used:
                self.used.add(word)
                return word

    def person(self) -> str:
        return f"{self.rng.choice(_FIRST)} {self.name()}"

    def _fill(self, template: str) -> dict:
        rng = self.rng
        values = {
            "topic": rng.choice(_TOPICS),
            "month": rng.choice(_MONTHS),
            "n": rng.randint(12, 480),
            "year": rng.randint(1890, 2021),
            "big": f"{rng.randint(11, 98)},{rng.randint(100, 999)}",
        }
        for key, make in (("place", self.name), ("town", self.name), ("person", self.person)):
            if "{" + key + "}" in template:
                values[key] = make()
        return values

    def sentence(self) -> str:
        template = self.rng.choice(_DISTRACTORS)
        return template.format(**self._fill(template))

    def paragraph(self, sentences: int = 4) -> str:
        return " ".join(self.sentence() for _ in range(sentences))

    def fact(self) -> Fact:
        sentence, question, answer = self.rng.choice(_FACTS)
        values = self._fill(sentence)
        return Fact(sentence.format(**values), question.format(**values), answer.format(**values))

    def table(self, rows: int) -> Table:
        """A register of ``rows`` rows; the fact in a row past the first three."""
        make = self.rng.choice(_TABLES)
        return make(self, rows, self.rng.randint(3, rows - 1))


def _depots(words: Words, count: int, at: int) -> Table:
    rows = [
        [f"{words.name()} depot", words.name(), words.rng.randint(800, 9000), words.person()]
        for _ in range(count)
    ]
    depot, _, capacity, manager = rows[at]
    if words.rng.random() < 0.5:
        return Table("Depots", ["Depot", "City", "Capacity", "Manager"], rows, at,
                     f"Who is the manager of the {depot}?", manager)  # fmt: skip
    return Table("Depots", ["Depot", "City", "Capacity", "Manager"], rows, at,
                 f"What is the capacity of the {depot}?", str(capacity))  # fmt: skip


def _ships(words: Words, count: int, at: int) -> Table:
    rows = [
        [f"MS {words.name()}", words.name(), words.rng.randint(1950, 2020), words.person()]
        for _ in range(count)
    ]
    ship, port, _, captain = rows[at]
    if words.rng.random() < 0.5:
        return Table("Fleet", ["Ship", "Home port", "Built", "Captain"], rows, at,
                     f"Who is the captain of the {ship}?", captain)  # fmt: skip
    return Table("Fleet", ["Ship", "Home port", "Built", "Captain"], rows, at,
                 f"What is the home port of the {ship}?", port)  # fmt: skip


def _products(words: Words, count: int, at: int) -> Table:
    rows = [
        [f"{words.name()} kettle", round(words.rng.uniform(9, 240), 2), f"{words.name()} Ltd",
         words.rng.randint(0, 400)]
        for _ in range(count)
    ]  # fmt: skip
    product, price, supplier, _ = rows[at]
    if words.rng.random() < 0.5:
        return Table("Prices", ["Product", "Price (EUR)", "Supplier", "Stock"], rows, at,
                     f"Who supplies the {product}?", supplier)  # fmt: skip
    return Table("Prices", ["Product", "Price (EUR)", "Supplier", "Stock"], rows, at,
                 f"What is the price of the {product}?", f"{price:g}")  # fmt: skip


_TABLES = [_depots, _ships, _products]
