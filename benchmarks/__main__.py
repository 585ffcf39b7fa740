"""``python -m benchmarks …``: the benchmark commands (query, index, formats, scale, filters,
conversation, load, crash, train)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from benchmarks import commands_documents  # noqa: F401 (registers its commands)
from benchmarks.cli import JsonOption, OutOption, SquadOption, app, bench_output, check_outputs
from rag.cli import clear_errors, fail, print_report


@app.command("query")
def bench_query(
    squad: SquadOption = None,
    paragraphs: Annotated[int, typer.Option(min=1, help="Paragraphs taken from --squad.")] = 300,
    requests: Annotated[int, typer.Option(min=1, help="Single-client requests.")] = 100,
    clients: Annotated[int, typer.Option(min=1, help="Concurrent clients.")] = 8,
    seconds: Annotated[float, typer.Option(min=1, help="How long they ask.")] = 20.0,
    setting: Annotated[
        list[str] | None,
        typer.Option("--set", help="RAG_NAME=value for the servers under test (repeatable)."),
    ] = None,
    as_json: JsonOption = False,
    out: OutOption = None,
) -> None:
    """Warm /ask latency over HTTP (ms and units), throughput, breakdown, start-up."""
    check_outputs(out)
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
    bench_output(report, query.table(report), as_json, out)


@app.command("index")
def bench_index(
    docs: Annotated[Path | None, typer.Option(help="A folder of documents to index.")] = None,
    squad: SquadOption = None,
    paragraphs: Annotated[int, typer.Option(min=1, help="Paragraphs taken from --squad.")] = 300,
    ray: Annotated[
        bool, typer.Option(help="Also `rag index --ray`, 1 and 2 workers (benchmarks/cluster.py).")
    ] = False,
    repeats: Annotated[
        int, typer.Option(min=1, help="`rag index` runs per embedder (alternating).")
    ] = 1,
    quality: Annotated[
        Path | None, typer.Option(help="A SQuAD file: each embedder's retrieval recall on it.")
    ] = None,
    questions: Annotated[int, typer.Option(min=1, help="Questions of --quality asked.")] = 2000,
    as_json: JsonOption = False,
    out: OutOption = None,
) -> None:
    """`rag index` time divided by a plain encode() of the same passages; passages/s; the
    command with the fp32 and int8 embedders, and their recall on --quality."""
    check_outputs(out)
    from benchmarks import cluster, indexing

    for given in (docs, squad, quality):
        if given is not None and not given.exists():
            fail(f"{given}: no such file or folder")
    with clear_errors():
        report = indexing.run(docs, squad, paragraphs, repeats, quality, questions)
        if ray:  # a local Ray instance on this machine, the same folder
            report["ray"] = cluster.run(docs, squad, paragraphs)
    table = indexing.table(report) + ("\n\n" + cluster.table(report["ray"]) if ray else "")
    bench_output(report, table, as_json, out)


@app.command("embedders")
def bench_embedders(
    squad: Annotated[Path, typer.Option(help="A SQuAD v1.1 file: its paragraphs are embedded.")],
    paragraphs: Annotated[int, typer.Option(min=16, help="Paragraphs taken from --squad.")] = 300,
    repeats: Annotated[int, typer.Option(min=1, help="Rounds, the variants alternating.")] = 3,
    as_json: JsonOption = False,
    out: OutOption = None,
) -> None:
    """torch fp32 and bf16, ONNX fp32 and int8 on the same passages: passages/s, cosine."""
    check_outputs(out)
    from benchmarks import embedder_variants

    if not squad.is_file():
        fail(f"{squad}: no such file")
    with clear_errors():
        report = embedder_variants.run(squad, paragraphs, repeats)
    bench_output(report, embedder_variants.table(report), as_json, out)


@app.command("scale")
def bench_scale(
    chunks: Annotated[
        list[int], typer.Option(min=1, help="Corpus sizes in passages (repeat the option).")
    ],
    squad: SquadOption = None,
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
    as_json: JsonOption = False,
    out: OutOption = None,
) -> None:
    """Synthetic corpora of N passages: build time, disk, server RSS, retrieval p50/p95, recall."""
    check_outputs(out, plot, folder=workdir)
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
    bench_output(report, scale.table(report), as_json, out)


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
    as_json: JsonOption = False,
    out: OutOption = None,
) -> None:
    """Filtered retrieval on both stores: exactness and time per selectivity, random filters."""
    check_outputs(out, folder=workdir)
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
    bench_output(report, filters.table(report), as_json, out)


@app.command("train")
def bench_train(
    squad: Annotated[Path, typer.Argument(help="A SQuAD v1.1 training file.")],
    validation: Annotated[
        Path | None, typer.Option(help="A SQuAD file: the reader's F1 by window length too.")
    ] = None,
    questions: Annotated[int, typer.Option(min=1, help="Training questions sampled.")] = 2000,
    steps: Annotated[int, typer.Option(min=1, help="Training steps timed per arm.")] = 15,
    batch_size: Annotated[int, typer.Option(min=1, help="Windows per step.")] = 32,
    as_json: JsonOption = False,
    out: OutOption = None,
) -> None:
    """Training windows/s with length-grouped or random batches, windows of 384 or 256."""
    check_outputs(out)
    from benchmarks import training

    for given in (squad, validation):
        if given is not None and not given.is_file():
            fail(f"{given}: no such file")
    with clear_errors():
        report = training.run(squad, validation, questions, steps, batch_size)
    bench_output(report, training.table(report), as_json, out)


@app.command("conversation")
def bench_conversation(
    squad: Annotated[Path, typer.Option(help="The SQuAD file holding the articles named.")],
    file: Annotated[
        Path | None, typer.Option(help="A conversation file (default: benchmarks/data/).")
    ] = None,
    as_json: JsonOption = False,
    out: OutOption = None,
) -> None:
    """Follow-ups asked with their history vs the same questions written out in full."""
    check_outputs(out)
    from benchmarks import conversation

    file = file if file is not None else conversation.DEFAULT_FILE
    for given in (squad, file):
        if not given.is_file():
            fail(f"{given}: no such file")
    with clear_errors():
        report = conversation.run(squad, file)
    bench_output(report, conversation.table(report), as_json, out)


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
    out: OutOption = None,
) -> None:
    """/ask latency while a large document is being indexed (questions between its slices)."""
    check_outputs(out)
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
    as_json: JsonOption = False,
    out: OutOption = None,
) -> None:
    """Issue 32's outside test (event streams, trickled bodies, writers without the key, MCP
    questions, an unbroken word, a PDF's metadata on both stores) against real servers."""
    check_outputs(out)
    from benchmarks import outside

    with clear_errors():
        report = outside.run(connections, every, seconds)
    bench_output(report, outside.table(report), as_json, out)


if __name__ == "__main__":
    app()
