"""Conversations scored: each follow-up asked with its history, and again written out in
full, so that what resolution costs (or saves) is one number beside the other.

A conversation file (JSON) lists turns as a user types them (``question``), the same
question written to stand alone (``standalone``; absent when it already does) and the
acceptable ``answers`` (``[]``: the documents do not say, the service should abstain).

    from rag.evaluation.conversations import load_conversations, score_conversations

    report = score_conversations(load_conversations(path), ask)  # ask(q, history) → dict

``ask`` returns the service's ``/ask`` response as a dict (``answer`` and
``resolved_question``), so the same scoring runs over HTTP or in process.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.conversation import Turn
from rag.evaluation.squad import best_over_truths, f1_score

Ask = Callable[[str, list[Turn]], dict]


@dataclass(frozen=True)
class ScriptedTurn:
    question: str
    standalone: str
    answers: tuple[str, ...]

    @property
    def follow_up(self) -> bool:
        return self.question != self.standalone


@dataclass(frozen=True)
class Conversation:
    id: str
    turns: tuple[ScriptedTurn, ...]


def load_conversations(path: Path) -> list[Conversation]:
    """The conversations of a file in the format above."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return [
        Conversation(
            c["id"],
            tuple(
                ScriptedTurn(t["question"], t.get("standalone", t["question"]), tuple(t["answers"]))
                for t in c["turns"]
            ),
        )
        for c in data["conversations"]
    ]


def turn_score(answer: str | None, answers: Sequence[str]) -> tuple[float, bool]:
    """(F1, right): an answerable turn is right when answered with F1 ≥ 0.5, an
    unanswerable one when the service abstains; F1 of an abstention is 0 (or 1 where
    no answer exists)."""
    if not answers:
        return (1.0, True) if answer is None else (0.0, False)
    f1 = best_over_truths(f1_score, answer, answers) if answer is not None else 0.0
    return f1, f1 >= 0.5


def score_conversations(conversations: Sequence[Conversation], ask: Ask) -> dict:
    """Every turn asked three ways: as typed with the history of the service's own
    answers, written out in full without history, and as typed without history (what a
    service that reads each question alone would do). Returns totals and one row per
    turn."""
    rows = []
    for conv in conversations:
        history: list[Turn] = []
        for i, turn in enumerate(conv.turns):
            with_history = ask(turn.question, list(history))
            alone = ask(turn.standalone, [])
            typed = ask(turn.question, []) if turn.follow_up else alone
            f1, right = turn_score(with_history.get("answer"), turn.answers)
            f1_full, right_full = turn_score(alone.get("answer"), turn.answers)
            resolved = with_history.get("resolved_question") or turn.question
            rows.append(
                {
                    "conversation": conv.id,
                    "turn": i,
                    "question": turn.question,
                    "follow_up": turn.follow_up,
                    "answerable": bool(turn.answers),
                    "resolved": resolved,
                    "standalone": turn.standalone,
                    "rewritten": resolved != turn.question,
                    "resolution_f1": round(f1_score(resolved, turn.standalone), 3),
                    "answer": with_history.get("answer"),
                    "f1": round(f1, 3),
                    "right": right,
                    "answer_full": alone.get("answer"),
                    "f1_full": round(f1_full, 3),
                    "right_full": right_full,
                    "right_as_typed": turn_score(typed.get("answer"), turn.answers)[1],
                }
            )
            history.append(Turn(turn.question, with_history.get("answer")))
    return {"totals": _totals(rows), "turns": rows}


def _share(rows: list[dict], key: str) -> float:
    return round(100 * sum(bool(r[key]) for r in rows) / len(rows), 1) if rows else 0.0


def _mean(rows: list[dict], key: str) -> float:
    return round(100 * sum(r[key] for r in rows) / len(rows), 1) if rows else 0.0


def _totals(rows: list[dict]) -> dict:
    """Right (%) and F1 with history vs written out, per kind of turn."""
    groups = {
        "all": rows,
        "follow_ups": [r for r in rows if r["follow_up"]],
        "standalone": [r for r in rows if not r["follow_up"]],
        "unanswerable": [r for r in rows if not r["answerable"]],
    }
    out = {}
    for name, group in groups.items():
        out[name] = {
            "turns": len(group),
            "right_with_history": _share(group, "right"),
            "right_written_out": _share(group, "right_full"),
            "right_as_typed": _share(group, "right_as_typed"),
            "f1_with_history": _mean(group, "f1"),
            "f1_written_out": _mean(group, "f1_full"),
        }
    follow = groups["follow_ups"]
    out["follow_ups"]["rewritten"] = _share(follow, "rewritten")
    out["follow_ups"]["resolution_f1"] = _mean(follow, "resolution_f1")
    standalone = groups["standalone"]
    out["standalone"]["rewritten"] = _share(standalone, "rewritten")
    return out
