"""GET /collections: the collections a key may read, with their sizes (a page's picker);
GET /collections/{name}/fields: the metadata its documents hold (a page's filter form)."""

from __future__ import annotations

from itertools import islice

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.access import CallerDep, Requires
from api.deps import PipelineDep
from api.schemas import CollectionList, errors
from api.scoping import no_collection, readable_collections

router = APIRouter(prefix="/collections", tags=["documents"])

#: The most fields, and values of each field, GET /collections/{name}/fields lists.
MAX_FIELDS = 100
MAX_VALUES = 50


class FieldValues(BaseModel):
    fields: dict[str, list[bool | int | float | str]] = Field(
        description=f"Each meta.<key> the collection's documents hold (at most {MAX_FIELDS}, "
        f"in name order), with its first {MAX_VALUES} distinct values: numbers, booleans, "
        "strings, and dates as RFC 3339 strings in UTC.",
        examples=[{"meta.year": [2019, 2024], "meta.team": ["hr"]}],
    )


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


@router.get(
    "/{name}/fields",
    response_model=FieldValues,
    dependencies=[Requires("read")],
    responses=errors(401, 403, 404),
)
def collection_fields(name: str, pipeline: PipelineDep, caller: CallerDep) -> dict:
    """The metadata fields a collection's documents hold and their distinct values, to
    build filters with (``{"field": "meta.year", "operator": ">=", "value": 2020}``).
    A collection the key may not read gets the 404 of one that does not exist."""
    if name not in {c["name"] for c in readable_collections(caller, pipeline)}:
        raise no_collection(name)
    values = pipeline.store.field_values(name, MAX_VALUES)
    return {"fields": dict(islice(values.items(), MAX_FIELDS))}
