"""Recipe files (``rag train-reader --recipe``): a reader trained in several runs, one
after another, reproduced by one command.

A recipe is ``{"stages": [{option: value, ...}, ...]}``, the options named as
:class:`rag.training.config.TrainConfig`'s fields; a stage sets what it trains with
(rates, shares of each kind of pair, distillation), never the data, the machine or the
chaining of stages, which belong to the command (:data:`RUN_OPTIONS`).
"""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path

from rag.training.config import TrainConfig

#: What a recipe stage may not set: the data, the machine and the chaining of stages
#: belong to the command.
RUN_OPTIONS = frozenset(
    {
        "files",
        "output",
        "validation",
        "device",
        "threads",
        "init",
        "teacher_encoder",
        "resume",
        "base_model",
        "prefetch",
        "log",
        "mined_from",
        "teacher_targets",
        "write_targets",
    }
)


class RecipeError(ValueError):
    """A recipe file that cannot be run."""


def recipe_stages(path: Path, command: TrainConfig) -> list[TrainConfig]:
    """The runs of a recipe file (``{"stages": [{option: value, ...}, ...]}``, options
    named as TrainConfig's fields): each stage is the command's config with the stage's
    options, trained in ``output/stage-N`` from the previous stage's best checkpoint (the
    first from the command's ``--init``, or the bare encoder). One command then
    reproduces a reader that was trained in several runs, such as the shipped one.

    A stage with ``"role": "teacher"`` trains a teacher instead, from the bare
    ``--teacher-encoder``: it does not continue the chain, and every later stage
    distils from it."""
    try:
        stages = json.loads(Path(path).read_text())["stages"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RecipeError(f"{path}: not a recipe file ({exc!r})") from exc
    names = {f.name for f in dataclasses.fields(TrainConfig)} - RUN_OPTIONS
    hints = typing.get_type_hints(TrainConfig)
    if not isinstance(stages, list) or not stages:
        raise RecipeError(f"{path}: a recipe needs a non-empty list of stages")
    runs, init, teachers = [], command.init, list(command.teacher)
    for n, stage in enumerate(stages, start=1):
        if not isinstance(stage, dict):
            raise RecipeError(f"{path}: stage {n} is not an object of options")
        stage = dict(stage)
        role = stage.pop("role", "student")
        if role not in ("student", "teacher"):
            raise RecipeError(f"{path}: stage {n}: role must be student or teacher, not {role!r}")
        unknown = sorted(set(stage) - names)
        if unknown:
            raise RecipeError(f"{path}: stage {n} cannot set {', '.join(unknown)}")
        for name, value in stage.items():
            kinds = set(typing.get_args(hints[name])) or {hints[name]}
            number = isinstance(value, int | float) and not isinstance(value, bool)
            whole = number and isinstance(value, int)
            if value is None and type(None) in kinds:
                continue
            if (float in kinds and not number) or (int in kinds and not whole):
                raise RecipeError(f"{path}: stage {n}: {name} must be a number, not {value!r}")
        output = command.output / f"stage-{n}"
        chain = dict(init=init, teacher=teachers)
        if role == "teacher":
            if not command.teacher_encoder:
                raise RecipeError(
                    f"{path}: stage {n} trains a teacher: give its encoder with --teacher-encoder"
                )
            chain = dict(init=None, teacher=[], base_model=command.teacher_encoder)
        mined_from = [run.mined_path for run in runs]  # no stage mines the same data twice
        runs.append(
            dataclasses.replace(
                command, **{**chain, **stage}, output=output, log=[], mined_from=mined_from
            )
        )
        if role == "teacher":
            teachers = [str(output / "best")]
        else:
            init = str(output / "best")
    if runs[-1].base_model != command.base_model:
        raise RecipeError(f"{path}: the last stage trains a teacher, not the reader")
    return runs
