"""``rag chat``: a terminal conversation, typed on standard input as a user would."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.model


def test_a_conversation_follows_on_and_starts_over(env):
    typed = "Where was Kim invited?\nWho invited him?\n\n   \n/new\nWho invited him?\n/quit\n"
    done = subprocess.run(
        [sys.executable, "-m", "rag", "chat"],
        input=typed,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Moscow" in out
    assert out.count("(understood as: Who invited Kim?)") == 1, "only while the history lasts"
    assert "(a new conversation)" in out
    assert "Traceback" not in done.stderr


def test_a_bad_question_is_one_line_and_the_chat_goes_on(env):
    typed = "x" * 2001 + "\nWhere was Kim invited?\n"  # and the input ends: no /quit
    done = subprocess.run(
        [sys.executable, "-m", "rag", "chat"],
        input=typed,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )
    assert done.returncode == 0
    assert "error: the question is longer than 2000 characters" in done.stderr
    assert "Traceback" not in done.stderr
    assert "Moscow" in done.stdout
