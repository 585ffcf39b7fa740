"""`rag eval`, `perturb` and `train-reader`: measuring and training the reader."""

from __future__ import annotations

import inspect
import json
import shutil
from pathlib import Path
from typing import Annotated

import typer

from rag.cli.app import app, clear_errors, fail, print_report
from rag.core.settings import PACKAGED_READER, get_settings, reader_location


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
    from rag.evaluation import evaluate as evaluation
    from rag.evaluation.calibration import write_threshold as store_threshold

    settings = get_settings()
    if not file.is_file():
        fail(f"{file}: no such file")
    with clear_errors():
        if calibrate:
            report = evaluation.calibrate(file, settings, limit=limit)
            if write_threshold:
                note = evaluation.calibration_note(report, file)
                store_threshold(
                    Path(reader_location(settings.reader_model)), report["threshold"], note
                )
        else:
            report, preds = evaluation.evaluate(
                file, settings, reader_only=reader_only, limit=limit, top_k=top_k
            )
            if predictions is not None:
                predictions.write_text(json.dumps(preds, ensure_ascii=False, indent=1))
    print_report(report, as_json)


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
    from rag.evaluation import squad
    from rag.evaluation.perturb import perturbed_examples

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


def train_reader(install: bool = False, recipe: Path | None = None, **options) -> None:
    """Fine-tune the extractive reader from the packaged MiniLM encoder."""
    from rag.training.config import from_cli
    from rag.training.recipes import RecipeError, recipe_stages

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
    if cfg.teacher_targets is not None or cfg.write_targets:
        _check_targets_options(cfg, recipe)
    if cfg.write_targets:
        from rag.training.target_writer import write_targets

        with clear_errors():
            result = write_targets(cfg, echo=lambda m: typer.echo(m, err=True))
        typer.echo(json.dumps(result))
        return
    if recipe is None:
        if cfg.teacher_encoder:
            fail("--teacher-encoder is for a recipe's teacher stage (--recipe)")
        if cfg.resume and not (cfg.output / "resume.pt").is_file():
            fail(f"nothing to resume: {cfg.output / 'resume.pt'} does not exist")
        runs = [cfg]
    else:
        try:
            runs = recipe_stages(recipe, cfg)
        except RecipeError as exc:
            fail(str(exc))
    for run in runs:
        if recipe is not None:
            if (run.output / "best" / "training.json").is_file():
                typer.echo(f"{run.output}: trained before, kept", err=True)
                continue
            # a stage cut off goes on from its last validation with --resume
            run.resume = cfg.resume and (run.output / "resume.pt").is_file()
        _train_one(run)
    if install:
        if PACKAGED_READER.exists():
            shutil.rmtree(PACKAGED_READER)
        shutil.copytree(runs[-1].output / "best", PACKAGED_READER)
        typer.echo(f"installed into {PACKAGED_READER}", err=True)


def _check_targets_options(cfg, recipe: Path | None) -> None:
    """Stored targets belong to one run's windows: one run writes them, one reads them."""
    if recipe is not None:
        fail("--teacher-targets and --write-targets are for a single run, not a --recipe")
    if cfg.write_targets and cfg.teacher_targets is not None:
        fail("--write-targets writes targets from --teacher; it cannot read --teacher-targets")
    if cfg.write_targets and not cfg.teacher:
        fail("--write-targets needs the teachers to write for (--teacher DIR)")
    if cfg.teacher_targets is not None:
        if cfg.teacher:
            fail("give either --teacher or --teacher-targets, not both")
        if not cfg.teacher_targets.is_dir():
            fail(f"--teacher-targets: no such folder: {cfg.teacher_targets}")


def _train_one(cfg) -> None:
    from rag.training.config import config_dict
    from rag.training.trainer import Trainer

    with clear_errors():
        result = Trainer(cfg, echo=lambda m: typer.echo(m, err=True)).run()
    result["config"] = config_dict(cfg)
    (cfg.output / "best" / "training.json").write_text(json.dumps(result, indent=2))
    typer.echo(json.dumps(result))


def _train_reader_signature() -> inspect.Signature:
    """The options of train-reader are TrainConfig's fields (declared once, there)."""
    from rag.training.config import cli_parameters

    install = inspect.Parameter(
        "install",
        inspect.Parameter.KEYWORD_ONLY,
        default=False,
        annotation=Annotated[bool, typer.Option(help="Copy the best checkpoint into the package.")],
    )
    recipe = inspect.Parameter(
        "recipe",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            Path | None,
            typer.Option(
                help="Run the stages of this recipe file one after another, each from the "
                "previous one's best (e.g. rag/models/reader/recipe.json, the shipped reader's)."
            ),
        ],
    )
    return inspect.Signature([*cli_parameters(), install, recipe])


train_reader.__signature__ = _train_reader_signature()
app.command("train-reader")(train_reader)
