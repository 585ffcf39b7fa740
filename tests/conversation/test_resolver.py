"""Follow-ups made to stand alone: each kind of reference the issue lists, the words that
look like references but are not, and questions that must be left as they are."""

from __future__ import annotations

import pytest

from rag.conversation import MAX_TURNS, Turn, resolve

KIM = [Turn("Where was Kim invited?", "Moscow")]
INVITED = [*KIM, Turn("Who invited him?", "Sergei Lavrov")]
LUTHER = [Turn("When did Martin Luther protest the sale of indulgences?", "31 October 1517")]
KHAN = [Turn("What year did Genghis Khan die?", "1227")]


@pytest.mark.parametrize(
    ("history", "question", "resolved"),
    [
        # pronouns and possessives: the nearest earlier mention that fits
        (KIM, "Who invited him?", "Who invited Kim?"),
        (INVITED, "What is his title?", "What is Sergei Lavrov's title?"),
        (INVITED, "What did he tell him?", "What did Sergei Lavrov tell Kim?"),
        (KHAN, "Where was he born?", "Where was Genghis Khan born?"),
        (
            [Turn("Who was Temüjin's first wife?", "Börte")],
            "Who kidnapped her?",
            "Who kidnapped Börte?",
        ),
        (
            [Turn("Who was Temüjin's first wife?", "Börte")],
            "What was her second son called?",
            "What was Börte's second son called?",
        ),
        (
            [Turn("Who captured Temüjin?", "the Merkits")],
            "Where did they take him?",
            "Where did the Merkits take Temüjin?",
        ),
        (
            [Turn("Which project put the first Americans into space?", "Project Mercury")],
            "How many people could its capsule hold?",
            "How many people could Project Mercury's capsule hold?",
        ),
        (
            [Turn("Who canceled the summit with the North Korean leader?", "Trump")],
            "Where was it supposed to take place?",
            "Where was the summit supposed to take place?",
        ),
        (INVITED, "Where did the two of them meet?", "Where did Sergei Lavrov and Kim meet?"),
        # places and times
        (KIM, "What did Lavrov say there?", "What did Lavrov say in Moscow?"),
        (KIM, "What is the population of that city?", "What is the population of Moscow?"),
        (KHAN, "Who succeeded him then?", "Who succeeded Genghis Khan in 1227?"),
        (KHAN, "What happened that year?", "What happened in 1227?"),
        (LUTHER, "Who was his bishop then?", "Who was Martin Luther's bishop on 31 October 1517?"),
        # ellipsis
        (KIM, "When?", "When was Kim invited?"),
        (KIM, "In which month?", "In which month was Kim invited?"),
        (INVITED, "When?", "When Sergei Lavrov invited Kim?"),
        (KIM, "And Lavrov?", "Where was Lavrov invited?"),
        (KIM, "What about Putin?", "Where was Putin invited?"),
        (
            [Turn("Which city hosts the forum?", "Vladivostok")],
            "In which month?",
            "In which month Vladivostok hosts the forum?",
        ),
    ],
)
def test_follow_ups_are_resolved(history, question, resolved):
    assert resolve(question, history) == resolved


@pytest.mark.parametrize(
    "question",
    [
        "Who is Russia's foreign minister?",  # a change of topic
        "Who won the 1998 World Cup?",
        "Who did Genghis Khan name as his successor?",  # "his" is bound in the question
        "What did Temüjin promise his followers in exchange for their obedience?",
        "How long did it take Johnson to respond?",  # "it" points at nothing
        "Is there a summit planned?",  # existential "there"
        "Then who invited Kim?",  # "then" as "so"
        "What happened?",
        "What else?",
    ],
)
def test_questions_that_stand_alone_are_left_as_they_are(question):
    assert resolve(question, INVITED) == question


def test_nothing_fits_nothing_changes():
    assert resolve("Who invited him?", []) == "Who invited him?"
    abstained = [Turn("Where was the treaty signed?", None)]
    assert resolve("When did it happen there?", abstained) == "When did the treaty happen there?"
    assert resolve("What did she say?", [Turn("When was it signed?", "1919")]) == (
        "What did she say?"
    )


def test_a_repeated_pronoun_is_named_once():
    history = [Turn("Who founded the Mongol Empire?", "Genghis Khan")]
    assert resolve("Which empire did he conquer before he died?", history) == (
        "Which empire did Genghis Khan conquer before he died?"
    )
    assert resolve("What did he promise his followers?", history) == (
        "What did Genghis Khan promise his followers?"
    )


def test_follow_ups_of_follow_ups_resolve_in_turn():
    history = [*INVITED, Turn("Where did the two of them meet?", "Pyongyang")]
    assert resolve("Who else did he meet there?", history) == (
        "Who else did Sergei Lavrov meet in Pyongyang?"
    )


def test_only_the_last_turns_count():
    old = [Turn("Who founded the Mongol Empire?", "Genghis Khan")]
    filler = [Turn(f"What is item {i}?", None) for i in range(MAX_TURNS)]
    assert resolve("When did he die?", old + filler) == "When did he die?"
    assert resolve("When did he die?", filler[1:] + old) == "When did Genghis Khan die?"
