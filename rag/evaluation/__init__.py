"""Measuring the service: SQuAD files and scores, ``rag eval``, and the abstention
threshold's calibration. Sits on top of the service; the service never imports it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.core.exports import lazy_getattr

if TYPE_CHECKING:
    from rag.evaluation.calibration import choose_threshold
    from rag.evaluation.evaluate import calibrate, evaluate
    from rag.evaluation.squad import Example, load, score, score_v2

#: public name → the module that defines it, imported on first use (the
#: modules load torch or other heavy libraries)
_EXPORTS = {
    "Example": "rag.evaluation.squad",
    "load": "rag.evaluation.squad",
    "score": "rag.evaluation.squad",
    "score_v2": "rag.evaluation.squad",
    "evaluate": "rag.evaluation.evaluate",
    "calibrate": "rag.evaluation.evaluate",
    "choose_threshold": "rag.evaluation.calibration",
}
__all__ = [
    "Example",
    "calibrate",
    "choose_threshold",
    "evaluate",
    "load",
    "score",
    "score_v2",
]

__getattr__ = lazy_getattr(__name__, _EXPORTS)
