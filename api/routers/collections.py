"""GET /collections: the collections a key may read, with their sizes (a page's picker)."""

from __future__ import annotations

from fastapi import APIRouter

from api.access import CallerDep, Requires
from api.deps import PipelineDep
from api.schemas import CollectionList, errors
from api.scoping import readable_collections

router = APIRouter(prefix="/collections", tags=["documents"])


@router.get(
    "",
    response_model=CollectionList,
    dependencies=[Requires("read")],
    responses=errors(401, 403),
)
def list_collections(pipeline: PipelineDep, caller: CallerDep) -> dict:
    """Every collection the caller may read, with its document and passage counts: those
    that hold documents, and the key's own named collections even while empty."""
    return {"collections": readable_collections(caller, pipeline)}
