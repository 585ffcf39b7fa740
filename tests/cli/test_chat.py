"""``rag chat``: a terminal conversation, typed on standard input as a user would (the
command run by its entry point in this process: ``rag_here``)."""

import pytest

from tests.support.cli import rag_here

pytestmark = pytest.mark.model


def test_a_conversation_follows_on_and_starts_over(env):
    # a bad question is one error line and the chat goes on; /quit leaves at once
    typed = "x" * 2001 + "\nWhere was Kim invited?\nWho invited him?\n\n   \n/new\n"
    typed += "Who invited him?\n/quit\nWhere was Kim invited?\n"
    done = rag_here("chat", input=typed, env=env)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.count("Moscow  (confidence") == 1, "nothing is asked after /quit"
    assert out.count("(understood as: Who invited Kim?)") == 1, "only while the history lasts"
    assert "(a new conversation)" in out
    assert "error: the question is longer than 2000 characters" in done.stderr
    assert "Traceback" not in done.stderr
