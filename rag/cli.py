"""The ``rag`` command line: a thin shell over the library."""

from __future__ import annotations

import inspect
import json
import shutil
import signal
import sys
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from rag.settings import PACKAGED_READER, Settings, get_settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Retrieval-augmented extractive question answering.",
)


@app.callback()
def _root() -> None:
    """Retrieval-augmented extractive question answering."""


def fail(message: str, code: int = 1) -> None:
    """One clear line on stderr and a non-zero exit, never a traceback."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def clear_errors():
    """Turn the library's expected errors into one line and exit code 1."""
    from rag.errors import IngestError, QuestionError, SquadError, StoreError

    try:
        yield
    except (
        IngestError,
        QuestionError,
        StoreError,
        SquadError,
        FileNotFoundError,
        PermissionError,
    ) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))


@contextmanager
def _pipeline(settings: Settings | None = None):
    """A loaded pipeline, closed on exit (which saves the FAISS file if it lags)."""
    from rag.pipeline import Pipeline

    pipeline = Pipeline(settings)
    pipeline.load()
    try:
        yield pipeline
    finally:
        pipeline.close()


@contextmanager
def _existing_store():
    """The index of the settings, opened without loading any model (it records its
    dimension; the model's name is checked against it)."""
    from rag.embedding import model_identity
    from rag.sqlite_db import DB_NAME
    from rag.store import open_store

    settings = get_settings()
    if not (settings.index_dir / DB_NAME).is_file():
        fail(f"no index in {settings.index_dir}: run `rag index` first")
    identity = model_identity(settings.embedding_model)
    store, _ = open_store(settings.index_dir, model_id=identity, dimension=None)
    try:
        yield store
    finally:
        store.close()


@app.command()
def index(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders (default: RAG_DOCS_DIR).")
    ] = None,
    rebuild: Annotated[
        bool, typer.Option(help="Re-embed every stored document into a new index.")
    ] = False,
) -> None:
    """Add .txt/.md files to the index (unchanged files are skipped)."""
    from rag.indexing import indexer_for, rebuild_index

    settings = get_settings()
    paths = paths or [settings.docs_dir]
    with clear_errors():
        for p in paths:
            if not p.exists():
                fail(f"{p}: no such file or folder")
        if rebuild:
            added = rebuild_index(settings, paths)
            typer.echo(f"rebuilt {settings.index_dir}: {added} documents")
            return
        with indexer_for(settings) as indexer:
            results, errors = indexer.index_paths(paths, progress=True)
            docs, chunks = indexer.store.counts()
        added = sum(created for _, created in results)
        for error in errors:
            typer.echo(f"error: {error}", err=True)
        typer.echo(
            f"{added} added, {len(results) - added} unchanged, {len(errors)} skipped; "
            f"index: {docs} documents, {chunks} passages"
        )
        if errors:
            raise typer.Exit(1)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    top_k: Annotated[int | None, typer.Option(min=1, max=50, help="Passages to read.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full result as JSON.")] = False,
) -> None:
    """Answer a question from the index."""
    with clear_errors(), _pipeline() as pipeline:
        pipeline.ensure_index(progress=True)
        result = pipeline.ask(question, top_k)
    if as_json:
        typer.echo(json.dumps(asdict(result), ensure_ascii=False, indent=2))
        return
    if result.answer is None:
        typer.echo(
            f"No answer in the documents (best guess below the threshold, "
            f"confidence {result.confidence:.2f})."
        )
    else:
        typer.echo(f"{result.answer}  (confidence {result.confidence:.2f})")
    sources = result.answers[0].sources if result.answer is not None else result.passages[:3]
    for c in sources:
        typer.echo(f"  - {c.title} [{c.doc_id} {c.start}:{c.end}]")


@app.command()
def documents(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the indexed documents."""
    with clear_errors(), _existing_store() as store:
        docs = [asdict(d) for d in store.documents()]
    if as_json:
        typer.echo(json.dumps({"documents": docs}, ensure_ascii=False, indent=2))
        return
    for d in docs:
        typer.echo(f"{d['doc_id']}\t{d['chunks']} passages\t{d['title']}")


@app.command()
def delete(doc_id: Annotated[str, typer.Argument(help="Id of the document to remove.")]) -> None:
    """Remove a document from the index."""
    with clear_errors(), _existing_store() as store:
        if not store.delete(doc_id):
            fail(f"no document with id {doc_id!r}")
    typer.echo(f"deleted {doc_id}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    allow_insecure: Annotated[
        bool,
        typer.Option(
            help="Listen on a non-loopback address without RAG_API_KEY (reads open to all; "
            "writes still only from this machine)."
        ),
    ] = False,
) -> None:
    """Run the HTTP API (builds the index from RAG_DOCS_DIR on first start)."""
    import uvicorn

    from api.app import create_app
    from api.deps import is_loopback
    from api.protocol import protocol_class

    settings = get_settings()
    if not is_loopback(host) and settings.api_key is None and not allow_insecure:
        fail(
            f"refusing to listen on {host} without RAG_API_KEY: set a key, or pass "
            "--allow-insecure to let anyone who reaches this port ask questions"
        )
    from rag.pipeline import Pipeline
    from rag.runtime import bound_kernel_cache, keep_freed_memory

    if not settings.allowed_hosts and is_loopback(host):
        # a page on another site whose name resolves to 127.0.0.1 (DNS rebinding) sends
        # its own name as Host: only this machine's names are served
        names = ["localhost", "127.0.0.1", "::1", "[::1]", host]
        settings = settings.model_copy(update={"allowed_hosts": sorted(set(names))})
    bound_kernel_cache()
    keep_freed_memory()
    # SIGTERM and SIGINT end the service the same clean way: uvicorn stops serving, then
    # re-raises the signal, which lands here as SystemExit(0), and the store is closed
    # (vectors saved, WAL folded into the database) before the process exits with 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    pipeline = Pipeline(settings)
    try:
        with clear_errors():
            pipeline.load()
            pipeline.ensure_index(progress=True)
        uvicorn.run(
            create_app(settings, pipeline),
            host=host,
            port=port,
            log_level="info",
            http=protocol_class(settings.body_timeout),
        )
    finally:
        pipeline.close()


def _exit_cleanly(signum: int, frame) -> None:
    raise SystemExit(0)


def _report(report: dict, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
        return
    for key, value in report.items():
        typer.echo(f"{key:>38}  {value}")


@app.command("eval")
def eval_(
    file: Annotated[Path, typer.Argument(help="A SQuAD v1.1 or v2.0 JSON file.")],
    reader_only: Annotated[
        bool, typer.Option("--reader-only", help="Give the reader the gold paragraph.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    predictions: Annotated[
        Path | None, typer.Option(help="Write {question_id: answer} for the official script.")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Score a random sample.")] = None,
    top_k: Annotated[int | None, typer.Option(min=1, max=50)] = None,
    calibrate: Annotated[
        bool, typer.Option(help="Choose the abstention threshold (some articles unindexed).")
    ] = False,
    write_threshold: Annotated[
        bool, typer.Option(help="With --calibrate: store the threshold with the reader.")
    ] = False,
) -> None:
    """Score the reader or the whole pipeline on SQuAD questions (v2.0: abstention scored)."""
    from rag import eval as evaluation

    settings = get_settings()
    if not file.is_file():
        fail(f"{file}: no such file")
    with clear_errors():
        if calibrate:
            report = evaluation.calibrate(file, settings, limit=limit)
            if write_threshold:
                evaluation.write_threshold(Path(settings.reader_model), report, file)
        else:
            report, preds = evaluation.evaluate(
                file, settings, reader_only=reader_only, limit=limit, top_k=top_k
            )
            if predictions is not None:
                predictions.write_text(json.dumps(preds, ensure_ascii=False, indent=1))
    _report(report, as_json)


@app.command("perturb")
def perturb(
    file: Annotated[Path, typer.Argument(help="A SQuAD JSON file with answerable questions.")],
    output: Annotated[Path, typer.Option(help="The SQuAD 2.0 file to write.")],
    changed_questions: Annotated[
        float,
        typer.Option(
            min=0,
            max=1,
            help="Share given an unanswerable copy (an entity, number or year "
            "swapped for one the paragraph lacks, or the question negated).",
        ),
    ] = 0.5,
    distractors: Annotated[
        float,
        typer.Option(
            min=0,
            max=1,
            help="Share given a copy whose paragraph holds a distracting "
            "sentence (AddSent style); the answer stays.",
        ),
    ] = 0.0,
    keep_originals: Annotated[bool, typer.Option(help="Write the original questions too.")] = True,
    seed: Annotated[int, typer.Option()] = 13,
) -> None:
    """Write a SQuAD 2.0 file of perturbed copies, to measure abstention and robustness."""
    from rag import squad
    from rag.negatives import perturbed_examples

    if not file.is_file():
        fail(f"{file}: no such file")
    with clear_errors():
        examples = squad.load([file])
        extra = perturbed_examples(examples, changed_questions, distractors, seed)
        squad.dump([*examples, *extra] if keep_originals else extra, output)
    impossible = sum(e.impossible for e in extra)
    typer.echo(
        f"wrote {output}: {impossible} unanswerable and {len(extra) - impossible} "
        f"distracted copies" + (f", {len(examples)} originals" if keep_originals else "")
    )


def train_reader(install: bool = False, **options) -> None:
    """Fine-tune the extractive reader from the packaged MiniLM encoder."""
    from rag.training import Trainer
    from rag.training_args import config_dict, from_cli

    cfg = from_cli(options, base_model=get_settings().embedding_model)
    for f in [*cfg.files, *([cfg.validation] if cfg.validation else [])]:
        if not f.is_file():
            fail(f"no such file: {f}")
    import torch

    try:
        kind = torch.device(cfg.device).type
    except RuntimeError:
        fail(f"unknown torch device: {cfg.device!r} (cpu, cuda, cuda:1 ...)")
    if kind == "cuda" and not torch.cuda.is_available():
        fail(f"--device {cfg.device}: no CUDA device is available here")
    if cfg.resume and not (cfg.output / "resume.pt").is_file():
        fail(f"nothing to resume: {cfg.output / 'resume.pt'} does not exist")
    with clear_errors():
        result = Trainer(cfg, echo=lambda m: typer.echo(m, err=True)).run()
    result["config"] = config_dict(cfg)
    (cfg.output / "best" / "training.json").write_text(json.dumps(result, indent=2))
    typer.echo(json.dumps(result))
    if install:
        if PACKAGED_READER.exists():
            shutil.rmtree(PACKAGED_READER)
        shutil.copytree(cfg.output / "best", PACKAGED_READER)
        typer.echo(f"installed into {PACKAGED_READER}", err=True)


def _train_reader_signature() -> inspect.Signature:
    """The options of train-reader are TrainConfig's fields (declared once, there)."""
    from rag.training_args import cli_parameters

    install = inspect.Parameter(
        "install",
        inspect.Parameter.KEYWORD_ONLY,
        default=False,
        annotation=Annotated[bool, typer.Option(help="Copy the best checkpoint into the package.")],
    )
    return inspect.Signature([*cli_parameters(), install])


train_reader.__signature__ = _train_reader_signature()
app.command("train-reader")(train_reader)


def main() -> None:  # pragma: no cover - entry point
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
