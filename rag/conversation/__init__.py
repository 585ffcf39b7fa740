"""Conversation: follow-up questions ("Who invited him?", "When?") rewritten to stand
alone from the turns before them, by rules over the words of the history (no model).

    >>> from rag.conversation import Turn, resolve
    >>> resolve("Who invited him?", [Turn("Where was Kim invited?", "Moscow")])
    'Who invited Kim?'
"""

from rag.conversation.resolver import MAX_TURNS, Turn, resolve

__all__ = ["MAX_TURNS", "Turn", "resolve"]
