"""`rag index`, `ask`, `documents`, `delete`, `serve`, `migrate`: the service's commands.
`serve` runs as a real process; the others by their entry point in this process
(``rag_here``: the same output and exit status as a child process, without starting
Python and importing torch for each command)."""

import json
import shutil

import pytest

from tests.support import hostile
from tests.support.cli import one_error_line, rag, rag_here
from tests.support.pdfs import make_pdf


def test_reading_commands_refuse_a_folder_without_an_index(env, tmp_path):
    """`rag documents`, `rag delete` and `rag reindex` open no model and create no index:
    an empty folder is one line naming it (the store API says whether an index exists)."""
    empty = {**env, "RAG_INDEX_DIR": str(tmp_path / "nothing")}
    for args in (["documents"], ["delete", "some-id"], ["reindex"]):
        line = one_error_line(rag_here(*args, env=empty))
        assert "no index in" in line and "rag index" in line
    assert not (tmp_path / "nothing").exists()


def test_index_a_missing_path_fails_with_one_line(env, tmp_path):
    line = one_error_line(rag_here("index", str(tmp_path / "nope"), env=env))
    assert "no such file" in line


def test_corrupt_index_folder_fails_with_one_line(env, tmp_path):
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "rag.sqlite3").write_bytes(b"garbage" * 1000)
    for args in (["documents"], ["reindex"]):
        line = one_error_line(rag_here(*args, env={**env, "RAG_INDEX_DIR": str(corrupt)}))
        assert "not a usable rag index" in line


def test_foreign_index_folder_fails_with_one_line(env, tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.txt").write_text("mine")
    line = one_error_line(rag_here("ask", "Where?", env={**env, "RAG_INDEX_DIR": str(foreign)}))
    assert "no rag index" in line


def test_serve_refuses_a_public_address_without_a_key(env):
    line = one_error_line(rag("serve", "--host", "0.0.0.0", env=env))
    assert "RAG_API_KEY" in line and "rag keys create" in line


def test_bad_collections_metadata_and_filters_fail_with_one_line(env):
    """Checked before any file is read or model loaded."""
    bad = '{"field": "year", "operator": "==", "value": 1}'
    line = one_error_line(rag_here("ask", "Who?", "--filter", bad, env=env))
    assert line.startswith("error: filters.field: unknown field 'year'")
    line = one_error_line(rag_here("index", "--metadata", '{"when": "2024-01-01T10:00"}', env=env))
    assert "--metadata.when: a date-time needs a zone" in line
    line = one_error_line(rag_here("index", "--collection", "Legal Team", env=env))
    assert "not a collection name" in line


@pytest.mark.model
def test_index_ask_documents_delete(env, tmp_path):
    extra = tmp_path / "extra.md"
    extra.write_text("# Kites\n\nThe Zorblax kite festival is held every spring in Tartu.\n")
    placed = ["--collection", "kites", "--metadata", '{"year": 2024}']
    result = rag_here("index", env["RAG_DOCS_DIR"], str(extra), *placed, env=env)  # folder and file
    assert result.returncode == 0, result.stderr
    assert "4 added" in result.stdout and "4 documents" in result.stdout
    recent = '{"field": "meta.year", "operator": ">=", "value": 2020}'
    question = "Where is the Zorblax kite festival held?"
    result = rag_here(
        "ask", question, "--collection", "kites", "--filter", recent, "--json", env=env
    )
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)  # the plain output: test_migrate…
    assert body["answer"].startswith("Tartu") and body["answers"][0]["sources"]
    assert body["answers"][0]["sources"][0]["doc_id"] == "kites:extra"
    listing = rag_here("documents", "--collection", "kites", env=env)
    assert listing.stdout.count("\n") == 4 and "kites:extra\tkites" in listing.stdout
    assert rag_here("delete", "kites:extra", env=env).returncode == 0
    one_error_line(rag_here("delete", "kites:extra", env=env))
    rebuilt = rag_here("index", "--rebuild", env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "6 documents" in rebuilt.stdout  # the 3 in kites, and the seeds again in default


@pytest.mark.model
def test_a_bad_file_in_a_folder_is_reported_and_the_rest_indexed(env, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.txt").write_text("Good\n\nThe Velmor mill grinds oats.")
    (folder / "latin.txt").write_bytes("café crème".encode("latin-1"))
    (folder / "cycle.pdf").write_bytes(hostile.parent_cycle())
    (folder / "slow.pdf").write_bytes(hostile.slow_pdf(200))
    result = rag_here("index", str(folder), env={**env, "RAG_PARSE_SECONDS": "1"})
    assert result.returncode == 1
    assert "1 added" in result.stdout and "3 skipped" in result.stdout
    errors = sorted(line for line in result.stderr.splitlines() if line.startswith("error:"))
    assert len(errors) == 3 and "Traceback" not in result.stderr
    assert "cycle.pdf: not a readable PDF (Detected cyclic page references.)" in errors[0]
    assert "latin.txt" in errors[1] and "UTF-8" in errors[1]
    assert errors[2].endswith("slow.pdf: PDF parsing exceeded 1 s")


@pytest.mark.model
def test_a_folder_of_web_pages_and_pdfs_is_indexed_and_cited_with_pages(env, tmp_path):
    from tests.support.samples import BOILERPLATE, PAGE, report

    folder = tmp_path / "reports"
    folder.mkdir()
    shutil.copy(PAGE, folder / "kite-record.html")
    (folder / "annual-report.pdf").write_bytes(report())
    (folder / "scan.pdf").write_bytes(make_pdf([[], []]))
    result = rag_here("index", str(folder), env=env)
    assert result.returncode == 1, "a file was skipped"
    assert "2 added" in result.stdout and "1 skipped" in result.stdout
    assert "scan.pdf" in result.stderr and "no text layer" in result.stderr

    asked = rag_here("ask", "Who reported a surplus of 3,200 euros?", "--json", env=env)
    body = json.loads(asked.stdout)
    assert body["answer"] == "Mira Tamm"
    source = body["answers"][0]["sources"][0]
    assert source["doc_id"] == "annual-report" and source["pages"] == [3]

    asked = rag_here("ask", "Who flew the kite over Lake Peipsi?", "--json", env=env)
    body = json.loads(asked.stdout)
    assert body["answer"] == "Anu Saar"
    source = body["answers"][0]["sources"][0]
    assert source["doc_id"] == "kite-record" and source["pages"] is None
    passages = [p["text"] for p in body["passages"] if p["doc_id"] == "kite-record"]
    assert passages
    assert not [junk for junk in BOILERPLATE for text in passages if junk in text]


@pytest.mark.model
@pytest.mark.milvus
def test_migrate_moves_an_index_between_stores_without_re_embedding(env, tmp_path):
    assert rag_here("index", env=env).returncode == 0
    moved = rag_here("migrate", "milvus", env=env)
    assert moved.returncode == 0, moved.stderr
    assert "copied 3 documents" in moved.stdout
    on_milvus = {**env, "RAG_STORE": "milvus"}
    listed = json.loads(rag_here("documents", "--json", env=on_milvus).stdout)["documents"]
    assert len(listed) == 3
    answer = rag_here("ask", "Where was Kim invited?", env=on_milvus)
    assert answer.stdout.startswith("Moscow")
    back = rag_here("migrate", "sqlite", "--index-dir", str(tmp_path / "back"), env=on_milvus)
    assert back.returncode == 0 and "copied 3 documents" in back.stdout
    again = rag_here("migrate", "milvus", env=env)
    assert "copied 0 documents (0 passages), 0 verdicts" in again.stdout, "nothing twice"
    same = one_error_line(rag_here("migrate", "sqlite", env=env))
    assert "already in sqlite" in same
