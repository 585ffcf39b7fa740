"""Collections, metadata and filters over HTTP, on both stores: documents go into a
collection with metadata, questions keep to the collections and filter asked, and a bad
filter is a 422 naming its path. (Keys scoped to collections: test_leaks.py.)

The module's pipeline is its own (``shared_service`` is per module); what the tests add
goes into collections no other module uses."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.support.filters import malformed_filters

pytestmark = pytest.mark.model

LOCAL = ("127.0.0.1", 40000)
CONTRACT = (
    "Employment contract 2024\n\nThe notice period under this contract is three months, "
    "given in writing to the head of human resources in Tallinn."
)
OLD_CONTRACT = (
    "Employment contract 2019\n\nThe notice period under this contract is six weeks, "
    "given in writing to the works council in Tartu."
)


@pytest.fixture(scope="module")
def client(shared_service):
    with TestClient(create_app(shared_service.settings, shared_service), client=LOCAL) as c:
        for text, year in ((CONTRACT, 2024), (OLD_CONTRACT, 2019)):
            body = {"text": text, "collection": "legal", "metadata": {"year": year}}
            assert c.post("/documents", json=body).status_code == 201
        yield c


def test_documents_go_into_their_collection_and_are_listed_there(client):
    listed = client.get("/documents", params={"collection": "legal"}).json()["documents"]
    assert {d["collection"] for d in listed} == {"legal"} and len(listed) == 2
    assert all(d["doc_id"].startswith("legal:") for d in listed)
    collections = {c["name"]: c for c in client.get("/collections").json()["collections"]}
    assert collections["legal"]["documents"] == 2 and collections["default"]["documents"] == 3
    assert collections["legal"]["passages"] >= 2
    document = client.get(f"/documents/{listed[0]['doc_id']}").json()
    assert document["collection"] == "legal" and document["metadata"]["year"] in (2019, 2024)


def test_a_question_keeps_to_the_collections_and_filter_asked(client):
    question = "What is the notice period?"
    legal = client.post("/ask", json={"question": question, "collections": ["legal"]}).json()
    assert {p["doc_id"].split(":")[0] for p in legal["passages"]} == {"legal"}
    recent = {"field": "meta.year", "operator": ">=", "value": 2020}
    body = {"question": question, "collections": ["legal"], "filters": recent}
    answer = client.post("/ask", json=body).json()
    assert answer["answer"] == "three months"
    assert all("2024" in p["title"] for p in answer["passages"])
    old = {**body, "filters": {"field": "meta.year", "operator": "<", "value": 2020}}
    earlier = client.post("/ask", json=old).json()
    assert earlier["passages"] and all("2019" in p["title"] for p in earlier["passages"])
    assert earlier["answer"] != "three months"
    seeds = client.post("/ask", json={"question": "Where was Kim invited?"}).json()
    assert seeds["answer"] == "Moscow"
    only_seeds = {"question": "Where was Kim invited?", "collections": ["default"]}
    assert client.post("/ask", json=only_seeds).json()["answer"] == "Moscow"
    none = {"question": "Where was Kim invited?", "collections": ["legal"]}
    assert client.post("/ask", json=none).json()["answer"] != "Moscow"


def test_a_collections_fields_are_listed_for_filters(client):
    assert client.get("/collections/legal/fields").json() == {"fields": {"meta.year": [2019, 2024]}}
    assert client.get("/collections/default/fields").json() == {"fields": {}}
    r = client.get("/collections/never-was/fields")
    assert r.status_code == 404 and r.json()["detail"] == "no collection named 'never-was'"


def test_a_filter_matching_nothing_reads_nothing(client):
    nothing = {"field": "meta.year", "operator": "==", "value": 1900}
    r = client.post("/ask", json={"question": "What is the notice period?", "filters": nothing})
    assert r.status_code == 200 and r.json()["answer"] is None and r.json()["passages"] == []


@pytest.mark.parametrize(
    ("filters", "path"),
    [
        ({"field": "meta.year", "operator": "~", "value": 1}, "filters.operator"),
        ({"field": "year", "operator": "==", "value": 1}, "filters.field"),
        (
            {
                "operator": "AND",
                "conditions": [{"field": "meta.a", "operator": ">", "value": True}],
            },
            "filters.conditions[0].value",
        ),
        ({"field": "created_at", "operator": ">", "value": "2024-01-01T00:00:00"}, "filters.value"),
        ({"operator": "OR", "conditions": []}, "filters.conditions"),
    ],
)
def test_a_bad_filter_is_a_422_naming_its_path(client, filters, path):
    r = client.post("/ask", json={"question": "What is the notice period?", "filters": filters})
    assert r.status_code == 422 and r.json()["detail"].startswith(path + ":"), r.text


def test_fuzzed_malformed_filters_are_422s_naming_their_path(client):
    for spec in malformed_filters(60, seed=11):
        if spec == {}:
            continue
        r = client.post("/ask", json={"question": "What is the notice period?", "filters": spec})
        assert r.status_code == 422, (spec, r.text)
        detail = r.json()["detail"]
        assert detail.startswith("filters") if isinstance(detail, str) else detail, spec


def test_bad_metadata_and_collection_names_are_refused(client):
    bad = {"text": "Some text", "collection": "legal", "metadata": {"when": "2024-01-01T10:00"}}
    r = client.post("/documents", json=bad)
    assert r.status_code == 422 and "metadata.when" in r.json()["detail"]
    r = client.post("/documents", json={"text": "Some text", "collection": "Legal Team"})
    assert r.status_code == 422
    r = client.post("/ask", json={"question": "Who?", "collections": ["no such!"]})
    assert r.status_code == 422


def test_uploads_take_a_collection_and_metadata(client):
    files = [("files", ("handbook.txt", b"Handbook\n\nHolidays are 25 days a year.", "text/plain"))]
    form = {"collection": "hr", "metadata": json.dumps({"team": ["hr", "people"]})}
    r = client.post("/documents/files", files=files, data=form)
    assert r.status_code == 201, r.text
    (created,) = r.json()["documents"]
    assert created["doc_id"].startswith("hr:")
    stored = client.get(f"/documents/{created['doc_id']}").json()
    assert stored["metadata"]["team"] == ["hr", "people"] and stored["collection"] == "hr"
    bad = client.post("/documents/files", files=files, data={"metadata": "{nope"})
    assert bad.status_code == 422 and "metadata" in bad.json()["detail"]
    team = {"field": "meta.team", "operator": "in", "value": ["people"]}
    body = {"question": "How many holidays a year?", "filters": team}
    assert client.post("/ask", json=body).json()["answer"] in ("25", "25 days")
    assert client.delete(f"/documents/{created['doc_id']}").status_code == 204
