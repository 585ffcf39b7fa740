"""``python -m benchmarks …``: the benchmark commands (query, index, scale, filters,
conversation, load, crash, train)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from rag.cli import clear_errors, fail, print_report

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Benchmarks against real server processes (run from the repository root).",
)


def _check_outputs(*files: Path | None, folder: Path | None = None) -> None:
    """Refuse unusable output paths before a benchmark spends minutes, not after."""
    if folder is not None and not folder.is_dir():
        fail(f"{folder}: no such folder")
    for f in files:
        if f is not None and not f.parent.is_dir():
            fail(f"{f}: its folder {f.parent} does not exist")


def _bench_output(report: dict, table: str, as_json: bool, out: Path | None) -> None:
    """Print the table (or the JSON), and keep the JSON in ``out`` for the README."""
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        typer.echo(f"{table}\n\nmachine: {report['machine']}")


_Squad = Annotated[
    Path | None, typer.Option(help="A SQuAD v1.1 file: benchmark on its paragraphs too.")
]
_Out = Annotated[Path | None, typer.Option(help="Also write the JSON report to this file.")]
_Json = Annotated[bool, typer.Option("--json", help="Print the JSON report.")]


@app.command("query")
def bench_query(
    squad: _Squad = None,
    paragraphs: Annotated[int, typer.Option(min=1, help="Paragraphs taken from --squad.")] = 300,
    requests: Annotated[int, typer.Option(min=1, help="Single-client requests.")] = 100,
    clients: Annotated[int, typer.Option(min=1, help="Concurrent clients.")] = 8,
    seconds: Annotated[float, typer.Option(min=1, help="How long they ask.")] = 20.0,
    setting: Annotated[
        list[str] | None,
        typer.Option("--set", help="RAG_NAME=value for the servers under test (repeatable)."),
    ] = None,
    as_json: _Json = False,
    out: _Out = None,
) -> None:
    """Warm /ask latency over HTTP (ms and units), throughput, breakdown, start-up."""
    _check_outputs(out)
    from benchmarks import query

    if squad is not None and not squad.is_file():
        fail(f"{squad}: no such file")
    env = {}
    for item in setting or []:
        name, sep, value = item.partition("=")
        if not sep or not name.startswith("RAG_"):
            fail(f"--set {item!r}: expected RAG_NAME=value")
        env[name] = value
    with clear_errors():
        report = query.run(squad, paragraphs, requests, clients, seconds, env)
    _bench_output(report, query.table(report), as_json, out)


@app.command("index")
def bench_index(
    docs: Annotated[Path | None, typer.Option(help="A folder of documents to index.")] = None,
    squad: _Squad = None,
    paragraphs: Annotated[int, typer.Option(min=1, help="Paragraphs taken from --squad.")] = 300,
    as_json: _Json = False,
    out: _Out = None,
) -> None:
    """`rag index` time divided by a plain encode() of the same passages; passages/s."""
    _check_outputs(out)
    from benchmarks import indexing

    for given in (docs, squad):
        if given is not None and not given.exists():
            fail(f"{given}: no such file or folder")
    with clear_errors():
        report = indexing.run(docs, squad, paragraphs)
    _bench_output(report, indexing.table(report), as_json, out)


@app.command("scale")
def bench_scale(
    chunks: Annotated[
        list[int], typer.Option(min=1, help="Corpus sizes in passages (repeat the option).")
    ],
    squad: _Squad = None,
    pool: Annotated[int, typer.Option(min=1, help="Passages embedded by the real model.")] = 5000,
    queries: Annotated[int, typer.Option(min=1, help="Questions per size.")] = 200,
    workdir: Annotated[
        Path | None, typer.Option(help="Where the throwaway indexes go (default: temp).")
    ] = None,
    store: Annotated[
        list[str] | None,
        typer.Option(help="Store(s) to build each size on: sqlite, milvus (repeat the option)."),
    ] = None,
    largest: Annotated[
        list[str] | None,
        typer.Option(help="STORE=N: build no size over N passages on STORE (repeatable)."),
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="Write a PNG plot of the results.")] = None,
    as_json: _Json = False,
    out: _Out = None,
) -> None:
    """Synthetic corpora of N passages: build time, disk, server RSS, retrieval p50/p95, recall."""
    _check_outputs(out, plot, folder=workdir)
    from benchmarks import scale

    if squad is not None and not squad.is_file():
        fail(f"{squad}: no such file")
    stores = store if store else ["sqlite"]
    if unknown := sorted(set(stores) - {"sqlite", "milvus"}):
        fail(f"--store {unknown[0]}: the stores are sqlite and milvus")
    limits = {}
    for limit in largest or []:
        name, _, size = limit.partition("=")
        if name not in stores or not size.isdigit():
            fail(f"--largest {limit}: expected STORE=N for a store given with --store")
        limits[name] = int(size)
    with clear_errors():
        report = scale.run(
            chunks, squad, pool, queries, workdir, stores=tuple(stores), largest=limits
        )
    if plot is not None:
        scale.plot(report, plot)
    _bench_output(report, scale.table(report), as_json, out)


@app.command("filters")
def bench_filters(
    passages: Annotated[int, typer.Option(min=100, help="Passages of the corpus.")] = 100_000,
    queries: Annotated[int, typer.Option(min=1, help="Questions per selection.")] = 100,
    ivf_queries: Annotated[int, typer.Option(min=1, help="… on SQLite's IVF index.")] = 30,
    milvus_queries: Annotated[int, typer.Option(min=1, help="… on Milvus.")] = 10,
    store: Annotated[list[str] | None, typer.Option(help="sqlite, milvus (repeat).")] = None,
    dense: Annotated[list[str] | None, typer.Option(help="SQLite's: flat, ivf (repeat).")] = None,
    random_filters: Annotated[int, typer.Option(min=0, help="Random filters checked.")] = 1000,
    agreement_documents: Annotated[int, typer.Option(min=1, help="… over documents.")] = 1000,
    workdir: Annotated[Path | None, typer.Option(help="For the indexes (default: temp).")] = None,
    as_json: _Json = False,
    out: _Out = None,
) -> None:
    """Filtered retrieval on both stores: exactness and time per selectivity, random filters."""
    _check_outputs(out, folder=workdir)
    from benchmarks import filters

    stores, kinds = tuple(store or ("sqlite", "milvus")), tuple(dense or ("flat", "ivf"))
    for given, known in ((stores, ("sqlite", "milvus")), (kinds, ("flat", "ivf"))):
        if unknown := sorted(set(given) - set(known)):
            fail(f"{unknown[0]}: expected {' or '.join(known)}")
    counts = (queries, ivf_queries, milvus_queries)
    with clear_errors():
        report = filters.run(
            passages, counts, stores, kinds, random_filters, agreement_documents, workdir
        )
    _bench_output(report, filters.table(report), as_json, out)


@app.command("train")
def bench_train(
    squad: Annotated[Path, typer.Argument(help="A SQuAD v1.1 training file.")],
    validation: Annotated[
        Path | None, typer.Option(help="A SQuAD file: the reader's F1 by window length too.")
    ] = None,
    questions: Annotated[int, typer.Option(min=1, help="Training questions sampled.")] = 2000,
    steps: Annotated[int, typer.Option(min=1, help="Training steps timed per arm.")] = 15,
    batch_size: Annotated[int, typer.Option(min=1, help="Windows per step.")] = 32,
    as_json: _Json = False,
    out: _Out = None,
) -> None:
    """Training windows/s with length-grouped or random batches, windows of 384 or 256."""
    _check_outputs(out)
    from benchmarks import training

    for given in (squad, validation):
        if given is not None and not given.is_file():
            fail(f"{given}: no such file")
    with clear_errors():
        report = training.run(squad, validation, questions, steps, batch_size)
    _bench_output(report, training.table(report), as_json, out)


@app.command("conversation")
def bench_conversation(
    squad: Annotated[Path, typer.Option(help="The SQuAD file holding the articles named.")],
    file: Annotated[
        Path | None, typer.Option(help="A conversation file (default: benchmarks/data/).")
    ] = None,
    as_json: _Json = False,
    out: _Out = None,
) -> None:
    """Follow-ups asked with their history vs the same questions written out in full."""
    _check_outputs(out)
    from benchmarks import conversation

    file = file if file is not None else conversation.DEFAULT_FILE
    for given in (squad, file):
        if not given.is_file():
            fail(f"{given}: no such file")
    with clear_errors():
        report = conversation.run(squad, file)
    _bench_output(report, conversation.table(report), as_json, out)


@app.command("load")
def bench_load(
    clients: Annotated[int, typer.Option(min=1, help="Concurrent clients.")] = 8,
    seconds: Annotated[float, typer.Option(min=1, help="How long they ask.")] = 30.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Concurrent clients asking continuously: errors, latency, throughput, peak RSS."""
    from benchmarks import load as bench

    with clear_errors():
        print_report(bench.load(clients, seconds), as_json)


@app.command("upload")
def bench_upload(
    megabytes: Annotated[float, typer.Option(min=0.01, help="Size of the uploaded text.")] = 1.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    out: _Out = None,
) -> None:
    """/ask latency while a large document is being indexed (questions between its slices)."""
    _check_outputs(out)
    from benchmarks import load as bench

    with clear_errors():
        report = bench.ask_during_upload(megabytes)
    if out is not None:
        out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print_report(report, as_json)


@app.command("crash")
def bench_crash(
    writes: Annotated[int, typer.Option(min=1, help="Acknowledged writes before SIGKILL.")] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """SIGKILL the server in a stream of writes; count acknowledged writes found after restart."""
    from benchmarks import load as bench

    with clear_errors():
        print_report(bench.crash(writes), as_json)


@app.command("attack")
def bench_attack(
    connections: Annotated[int, typer.Option(min=1, help="Attacking connections.")] = 16,
    every: Annotated[float, typer.Option(min=0.1, help="Seconds between their bytes.")] = 4.0,
    seconds: Annotated[float, typer.Option(min=1, help="Longest an attack is watched.")] = 30.0,
    as_json: _Json = False,
    out: _Out = None,
) -> None:
    """Issue 32's outside test (event streams, trickled bodies, writers without the key, MCP
    questions, an unbroken word, a PDF's metadata on both stores) against real servers."""
    _check_outputs(out)
    from benchmarks import outside

    with clear_errors():
        report = outside.run(connections, every, seconds)
    _bench_output(report, outside.table(report), as_json, out)


if __name__ == "__main__":
    app()
