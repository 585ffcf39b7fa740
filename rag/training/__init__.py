"""The reader's training lab: no-answer pairs, mined negatives, windows, the
:class:`Trainer`, teachers and checkpoints. Sits on top; the service never imports it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.core.exports import lazy_getattr

if TYPE_CHECKING:
    from rag.training.config import TrainConfig
    from rag.training.recipes import recipe_stages
    from rag.training.trainer import Trainer

#: public name → the module that defines it, imported on first use (the
#: modules load torch or other heavy libraries)
_EXPORTS = {
    "TrainConfig": "rag.training.config",
    "recipe_stages": "rag.training.recipes",
    "Trainer": "rag.training.trainer",
}
__all__ = [
    "TrainConfig",
    "Trainer",
    "recipe_stages",
]

__getattr__ = lazy_getattr(__name__, _EXPORTS)
