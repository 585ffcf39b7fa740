"""``python -m benchmarks attack``: issue 32's outside test, items 3-6, rerun as it was run
(default settings, a key, 16 connections, a byte every 4 s) against real servers.

The attacks themselves are in :mod:`benchmarks.attacks` (the tests run them shorter).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import httpx

from benchmarks import attacks
from benchmarks.common import machine
from tests.support.pdfs import make_pdf


def run(
    connections: int = 16, every: float = 4.0, seconds: float = 30.0, pages: int = 10_000
) -> dict:
    """Every attack, each while a client asks and another writes; then the store limits."""
    report: dict = {"benchmark": "attack", "connections": connections, "byte_every_s": every}
    # the parser's page limit (issue 31) would refuse the PDF before the stores' bound
    pdf_pages = {"RAG_MAX_PDF_PAGES": str(pages + 1)}
    with tempfile.TemporaryDirectory(prefix="rag-attack-") as tmp:
        with attacks.attacked_server(Path(tmp) / "sqlite", pdf_pages) as server:
            report.update(_slot_attacks(server, connections, every, seconds))
            report["mcp_asks_40"] = attacks.mcp_asks(server.base, 40)
            report["giant_word"] = attacks.giant_word(server.base)
            report["pdf_metadata"] = {"sqlite": _upload_pdf(server.base, pages)}
            report["log_bytes"] = server.log.stat().st_size
        env = {"RAG_STORE": "milvus", **pdf_pages}
        with attacks.attacked_server(Path(tmp) / "milvus", env) as milvus:
            report["pdf_metadata"]["milvus"] = _upload_pdf(milvus.base, pages)
    report["machine"] = machine()
    return report


def _slot_attacks(server, connections: int, every: float, seconds: float) -> dict:
    """Items 3 and 4: event streams, trickled bodies with and without the key."""
    auth = attacks.AUTH

    def trickle(path: str, headers: dict):
        return lambda: attacks.trickle(
            server.port,
            path,
            connections=connections,
            every=every,
            seconds=seconds,
            headers=headers,
        )

    mcp = {**attacks.MCP_HEADERS, **auth}
    files = {**attacks.MULTIPART, **auth}
    return {
        "get_mcp_streams_30": attacks.under_attack(
            server.base, lambda: attacks.streams(server.port, connections=30, seconds=5), 10
        ),
        "trickle_mcp": attacks.under_attack(server.base, trickle("/mcp", mcp)),
        "trickle_files": attacks.under_attack(server.base, trickle("/documents/files", files)),
        "trickle_files_no_key": attacks.under_attack(
            server.base, trickle("/documents/files", attacks.MULTIPART), 10
        ),
    }


def _upload_pdf(base: str, pages: int) -> dict:
    """A PDF of ``pages`` one-line pages (its page_starts pass 65,535 bytes past ~7,000)."""
    pdf = make_pdf([[f"Page {i} of the long report."] for i in range(pages)])
    files = {"files": ("long.pdf", pdf, "application/pdf")}
    wait = {"wait": "true"}  # held to the end, not a job (issue 38, item 4)
    r = httpx.post(
        f"{base}/documents/files", files=files, headers=attacks.AUTH, params=wait, timeout=600
    )
    return {"pages": pages, "pdf_bytes": len(pdf), "status": r.status_code, "detail": r.text[:300]}


def table(report: dict) -> str:
    """The figures as docs/reliability.md shows them."""
    rows = ["| attack | attackers answered | /ask meanwhile | authorised writes meanwhile |"]
    rows.append("| --- | --- | --- | --- |")
    for name in ("get_mcp_streams_30", "trickle_mcp", "trickle_files", "trickle_files_no_key"):
        r = report[name]
        a = r["attack"]
        rows.append(
            f"| {name} | {a['answers']} (last after {a['last_answer_s']} s, "
            f"{a['unanswered']} unanswered) | {r['ask']['calls']} asked, {r['ask']['statuses']}, "
            f"slowest {r['ask']['max_s']} s | {r['writes']['statuses']} |"
        )
    return "\n".join(
        [
            *rows,
            f"\n40 MCP asks at once: {report['mcp_asks_40']['statuses']}",
            f"unbroken word: {report['giant_word']}",
            f"PDF metadata: {report['pdf_metadata']}",
            f"server log: {report['log_bytes']:,} bytes",
        ]
    )
