"""The vocabulary of follow-up resolution: function words, auxiliaries, and the nouns
that tell a place, a time, a thing or a person apart (a city, a year, a program, a
leader). Closed lists, kept small: they type what the history mentions, nothing more.
"""

from __future__ import annotations

import re

TOKEN = re.compile(r"[\w][\w'’.\-]*[\w]|[\w]", re.UNICODE)

#: Capitalised words that begin questions or sentences without naming anything.
FUNCTION_WORDS = frozenset(
    "a an and are as at be by can could did do does during for from had has have he her him his "
    "how i if in me my our she them they us we you your "
    "into is it its of on or since than that the their these this those through to under "
    "until was were what when where which while who whom whose why will with within would "
    "after before between about against among along around besides despite".split()
)
#: Lower-case words that may sit inside a name ("University of Erfurt", "Ludwig van …").
NAME_JOINERS = frozenset("of the de da di du van von der den la le al bin upon y".split())
AUXILIARIES = frozenset(
    "is are was were am be been being did does do has have had will would can could "
    "should shall may might must".split()
)
MONTHS = (
    "january february march april may june july august september october november december"
).split()
YEAR = re.compile(r"^\d{3,4}s?$|^\d{1,2}(st|nd|rd|th)?$")
TIME_WORDS = frozenset("year years month day date time century decade era period season".split())
PLACE_WORDS = frozenset(
    "city town country state province county region capital village island river lake sea "
    "ocean mountain mountains valley street square park place continent coast peninsula "
    "district desert".split()
)
THING_WORDS = frozenset(
    "program programme project mission empire dynasty church university college school "
    "museum bible book act treaty war battle party committee company corporation council "
    "agency center centre institute code theses summit declaration agreement law court "
    "army navy movement revolution network channel series show prize award system".split()
)
ROLE_WORDS = frozenset(
    "leader president minister king queen emperor prince princess general chief "
    "ruler khan pope bishop director chairman diplomat ambassador spokesman officer "
    "senator governor mayor founder father mother brother sister son daughter wife husband".split()
)
#: Past participles without -ed, which end a noun phrase ("Where was the summit held?").
PARTICIPLES = frozenset(
    "held met made given taken built born found known seen sent told said won lost written "
    "led left paid put run set sold spent thought brought bought caught chosen done drawn "
    "driven fought got gotten grown heard hung kept laid lent meant read shown sung spoken "
    "stolen struck taught thrown understood worn begun become come cut fed felt".split()
)
PLACE_PREPOSITIONS = frozenset(
    "in to at from near across into towards toward visit visited".split()
)


def tokens(text: str) -> list[str]:
    """The words of ``text`` with their inner apostrophes and hyphens kept."""
    return TOKEN.findall(text)


def bare(word: str) -> str:
    """A word without a trailing possessive ("Russia's" → "Russia")."""
    return re.sub(r"['’]s?$", "", word)


def is_capitalised(word: str) -> bool:
    return word[:1].isupper() and word.lower() not in FUNCTION_WORDS
