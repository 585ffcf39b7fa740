"""``python -m benchmarks conversation``: follow-ups asked through ``/ask`` with their
history, against the same questions written out in full (issue 30).

The corpus is the seed articles plus the SQuAD articles the conversation file names
(whole articles, one document each, from the file given with ``--squad``), served by a
real ``rag serve`` process; every question goes over HTTP.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import httpx

from benchmarks.common import machine, markdown_table, seeds_dir
from benchmarks.server import Server
from rag.conversation import Turn
from rag.evaluation.conversations import load_conversations, score_conversations

DEFAULT_FILE = Path(__file__).parent / "data" / "conversations.json"


def write_articles(squad: Path, titles: list[str], folder: Path) -> None:
    """Each named SQuAD article as one text file: its title, then its paragraphs."""
    data = json.loads(squad.read_text(encoding="utf-8"))["data"]
    found = {a["title"]: a for a in data if a["title"] in titles}
    if missing := sorted(set(titles) - set(found)):
        raise ValueError(f"{squad.name} has no article {missing[0]!r}")
    for title, article in found.items():
        text = "\n\n".join(p["context"] for p in article["paragraphs"])
        name = title.replace(" ", "_")
        (folder / f"{name}.txt").write_text(f"{title.replace('_', ' ')}\n\n{text}\n", "utf-8")


def run(squad: Path, file: Path = DEFAULT_FILE, env: dict | None = None) -> dict:
    conversations = load_conversations(file)
    titles = json.loads(file.read_text(encoding="utf-8")).get("articles", [])
    with tempfile.TemporaryDirectory(prefix="rag-conv-") as tmp:
        docs = Path(tmp) / "docs"
        shutil.copytree(seeds_dir(), docs)
        write_articles(squad, titles, docs)
        server = Server(docs, Path(tmp) / "index", env).start()
        try:
            with httpx.Client(base_url=server.base, timeout=60) as client:

                def ask(question: str, history: list[Turn]) -> dict:
                    body = {
                        "question": question,
                        "history": [{"question": t.question, "answer": t.answer} for t in history],
                    }
                    response = client.post("/ask", json=body)
                    response.raise_for_status()
                    return response.json()

                report = score_conversations(conversations, ask)
                reader = client.get("/health").json()["reader"]
        finally:
            server.stop()
    return {"machine": machine(), "file": file.name, "reader": reader, **report}


def table(report: dict) -> str:
    rows = [{"group": name, **values} for name, values in report["totals"].items()]
    columns = [
        ("group", "turns"),
        ("turns", "n"),
        ("right_with_history", "right, with history (%)"),
        ("right_written_out", "right, written out (%)"),
        ("right_as_typed", "right, as typed, no history (%)"),
        ("f1_with_history", "F1 with history"),
        ("f1_written_out", "F1 written out"),
        ("rewritten", "rewritten (%)"),
        ("resolution_f1", "resolution F1"),
    ]
    misses = [
        f"- {r['conversation']}#{r['turn']}: {r['question']!r} → {r['resolved']!r} "
        f"(written out: {r['standalone']!r}); answer {r['answer']!r}, "
        f"written out {r['answer_full']!r}"
        for r in report["turns"]
        if r["right"] != r["right_full"]
    ]
    return markdown_table(rows, columns) + "\n\nTurns scored differently:\n" + "\n".join(misses)
