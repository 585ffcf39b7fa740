"""What every benchmark shares: the machine, a server process, percentiles, the unit."""

from __future__ import annotations

import os
import platform
import statistics
import threading
import time
from pathlib import Path

import httpx

# one percentile for every report: the benchmarks' latencies are given as rag eval's
from rag.evaluation.report import percentile as percentile

SEED_QUESTIONS = [
    "Where was Kim invited?",
    "Who met Kim Jong Un in Pyongyang?",
    "Who is North Korea's foreign minister?",
    "What is the tallest mountain in Africa?",
    "When did Lavrov last visit North Korea?",
    "Where was the summit between Trump and Kim planned?",
    "Who invited Kim Jong Un to Moscow?",
    "What did Lavrov bring to Kim?",
    "Who is the Russian foreign minister?",
    "Who won the 1998 World Cup?",
]

#: The reference passages: this many, of this many word pieces each.
UNIT_PASSAGES, UNIT_TOKENS = 5, 150


def seeds_dir() -> Path:
    """The demo articles: ``seeds/`` of this checkout."""
    return Path(__file__).resolve().parents[1] / "seeds"


def reference_model():
    """The packaged embedding model as sentence-transformers loads it (fp32, CPU)."""
    from sentence_transformers import SentenceTransformer

    from rag.core.settings import offline_and_quiet, packaged_embedding_model

    offline_and_quiet()
    return SentenceTransformer(packaged_embedding_model(), device="cpu")


def unit_ms(model=None, repeats: int = 20) -> float:
    """The speed unit: milliseconds for the packaged embedding model (fp32) to encode one
    question and 5 passages of 150 word pieces, median of ``repeats``, in this process.

    It is about the work a plain fp32 reader does on 5 passages, so "0.5 units" means
    answering in half the time that reading alone would take without our levers.
    """
    model = model if model is not None else reference_model()
    text = " ".join(p.read_text(encoding="utf-8") for p in sorted(seeds_dir().glob("*.txt")))
    ids = model.tokenizer(text, add_special_tokens=False)["input_ids"]
    passages = [
        model.tokenizer.decode(ids[i * UNIT_TOKENS : (i + 1) * UNIT_TOKENS])
        for i in range(UNIT_PASSAGES)
    ]
    texts = ["Where was Kim invited?", *passages]
    for _ in range(3):
        model.encode(texts)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.encode(texts, batch_size=32)
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 1)


def squad_corpus(file: Path, paragraphs: int, seed: int = 13) -> list[tuple[str, str, str]]:
    """``paragraphs`` paragraphs of a SQuAD file drawn at random: (title, text, a question)."""
    import random

    from rag.evaluation import squad

    examples = squad.load([file])
    first: dict[tuple[str, int], squad.Example] = {}
    for e in examples:
        first.setdefault((e.article, e.paragraph), e)
    keys = sorted(first)
    random.Random(seed).shuffle(keys)
    chosen = sorted(keys[:paragraphs])
    return [
        (k[0].split(":", 1)[-1].replace("_", " "), first[k].context, first[k].question)
        for k in chosen
    ]


def write_corpus(corpus: list[tuple[str, str, str]], folder: Path) -> Path:
    """One text file per paragraph (title line, blank line, paragraph), as users store them."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, (title, text, _) in enumerate(corpus):
        (folder / f"{i:04d}.txt").write_text(f"{title}\n\n{text}\n", encoding="utf-8")
    return folder


def markdown_table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    """A Markdown table of ``rows`` with (key, heading) ``columns``: the README's format."""
    head = "| " + " | ".join(h for _, h in columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(str(r.get(k, "")) for k, _ in columns) + " |" for r in rows]
    return "\n".join([head, rule, *body])


def machine() -> str:
    """The CPU model and core count, written next to every figure."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def peak_rss_mb(pid: int) -> float | None:
    """Peak resident memory of a process (Linux /proc), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def ask_concurrently(
    base: str, questions: list[str], clients: int, seconds: float
) -> tuple[list[float], dict[int, int], float]:
    """``clients`` threads asking ``questions`` back to back for ``seconds``: latencies
    (ms) of the 200 answers, counts per status code (0: no response), wall seconds."""
    latencies: list[float] = []
    codes: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(n: int) -> None:
        with httpx.Client(base_url=base, timeout=120) as http:
            i = n * 7
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    code = http.post(
                        "/ask", json={"question": questions[i % len(questions)]}
                    ).status_code
                except httpx.HTTPError:
                    code = 0
                i += 1
                with lock:
                    codes[code] = codes.get(code, 0) + 1
                    if code == 200:
                        latencies.append((time.perf_counter() - t0) * 1000)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, codes, time.perf_counter() - t0
