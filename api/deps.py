"""FastAPI dependencies: the loaded pipeline and write access (who may do what is
:mod:`api.access`; the origin checks of :mod:`api.origins` are re-exported for older
imports)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.access import Requires
from api.origins import is_loopback, same_origin, write_refusal
from rag.service.pipeline import Pipeline

__all__ = [
    "PipelineDep",
    "WriteAccess",
    "get_pipeline",
    "is_loopback",
    "same_origin",
    "write_refusal",
]


def get_pipeline(request: Request) -> Pipeline:
    return request.app.state.pipeline


PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]

#: A route that changes the index: the write scope (see :mod:`api.access`).
WriteAccess = Requires("write")
