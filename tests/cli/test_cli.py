"""The `rag` command line, run as a real process."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.support.paths import FIXTURES, SEEDS
from tests.support.pdfs import make_pdf


def _rag(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


@pytest.fixture
def env(tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    return {"RAG_DOCS_DIR": str(docs), "RAG_INDEX_DIR": str(tmp_path / "index")}


def _one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_index_a_missing_path_fails_with_one_line(env, tmp_path):
    line = _one_error_line(_rag("index", str(tmp_path / "nope"), env=env))
    assert "no such file" in line


def test_corrupt_index_folder_fails_with_one_line(env, tmp_path):
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "rag.sqlite3").write_bytes(b"garbage" * 1000)
    line = _one_error_line(_rag("documents", env={**env, "RAG_INDEX_DIR": str(corrupt)}))
    assert "not a usable rag index" in line


def test_foreign_index_folder_fails_with_one_line(env, tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.txt").write_text("mine")
    line = _one_error_line(_rag("ask", "Where?", env={**env, "RAG_INDEX_DIR": str(foreign)}))
    assert "no rag index" in line


def test_serve_refuses_a_public_address_without_a_key(env):
    line = _one_error_line(_rag("serve", "--host", "0.0.0.0", env=env))
    assert "RAG_API_KEY" in line


@pytest.mark.model
def test_index_ask_documents_delete(env, tmp_path):
    extra = tmp_path / "extra.md"
    extra.write_text("# Kites\n\nThe Zorblax kite festival is held every spring in Tartu.\n")
    result = _rag("index", env=env)
    assert result.returncode == 0, result.stderr
    assert "3 added" in result.stdout
    result = _rag("index", str(extra), env=env)
    assert "1 added" in result.stdout and "4 documents" in result.stdout
    result = _rag("ask", "Where was Kim invited?", "--json", env=env)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["answer"] == "Moscow" and body["answers"][0]["sources"]
    plain = _rag("ask", "Where is the Zorblax kite festival held?", env=env)
    assert plain.stdout.startswith("Tartu")
    listing = _rag("documents", env=env)
    assert listing.stdout.count("\n") == 4 and "extra" in listing.stdout
    assert _rag("delete", "extra", env=env).returncode == 0
    _one_error_line(_rag("delete", "extra", env=env))
    rebuilt = _rag("index", "--rebuild", env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "3 documents" in rebuilt.stdout


@pytest.mark.model
def test_a_bad_file_in_a_folder_is_reported_and_the_rest_indexed(env, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.txt").write_text("Good\n\nThe Velmor mill grinds oats.")
    (folder / "latin.txt").write_bytes("café crème".encode("latin-1"))
    result = _rag("index", str(folder), env=env)
    assert result.returncode == 1
    assert "1 added" in result.stdout and "1 skipped" in result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "latin.txt" in errors[0] and "UTF-8" in errors[0]


@pytest.mark.model
def test_a_folder_of_web_pages_and_pdfs_is_indexed_and_cited_with_pages(env, tmp_path):
    from tests.support.samples import BOILERPLATE, PAGE, report

    folder = tmp_path / "reports"
    folder.mkdir()
    shutil.copy(PAGE, folder / "kite-record.html")
    (folder / "annual-report.pdf").write_bytes(report())
    (folder / "scan.pdf").write_bytes(make_pdf([[], []]))
    result = _rag("index", str(folder), env=env)
    assert result.returncode == 1, "a file was skipped"
    assert "2 added" in result.stdout and "1 skipped" in result.stdout
    assert "scan.pdf" in result.stderr and "no text layer" in result.stderr

    asked = _rag("ask", "Who reported a surplus of 3,200 euros?", "--json", env=env)
    body = json.loads(asked.stdout)
    assert body["answer"] == "Mira Tamm"
    source = body["answers"][0]["sources"][0]
    assert source["doc_id"] == "annual-report" and source["pages"] == [3]

    asked = _rag("ask", "Who flew the kite over Lake Peipsi?", "--json", env=env)
    body = json.loads(asked.stdout)
    assert body["answer"] == "Anu Saar"
    source = body["answers"][0]["sources"][0]
    assert source["doc_id"] == "kite-record" and source["pages"] is None
    passages = [p["text"] for p in body["passages"] if p["doc_id"] == "kite-record"]
    assert passages
    assert not [junk for junk in BOILERPLATE for text in passages if junk in text]


def test_train_reader_refuses_unusable_data_with_one_line(tmp_path):
    mini = str(FIXTURES / "mini_squad.json")
    missing = _one_error_line(_rag("train-reader", mini, "--validation", str(tmp_path / "nope")))
    assert "no such file" in missing
    not_squad = tmp_path / "notes.json"
    not_squad.write_text("[1, 2]")
    bad = _one_error_line(_rag("train-reader", str(not_squad), "--output", str(tmp_path / "run")))
    assert "not a SQuAD" in bad
    # Holding out the training file itself leaves nothing to train on.
    empty = _one_error_line(
        _rag("train-reader", mini, "--validation", mini, "--output", str(tmp_path / "run"))
    )
    assert "no training questions" in empty


def test_train_reader_refuses_a_bad_device_or_nothing_to_resume(tmp_path):
    mini = str(FIXTURES / "mini_squad.json")
    device = _one_error_line(_rag("train-reader", mini, "--device", "toaster"))
    assert "unknown torch device" in device
    resume = _one_error_line(_rag("train-reader", mini, "--output", str(tmp_path), "--resume"))
    assert "nothing to resume" in resume
    encoder = _one_error_line(_rag("train-reader", mini, "--teacher-encoder", str(tmp_path)))
    assert "for a recipe's teacher stage" in encoder


def test_train_reader_refuses_stored_targets_it_cannot_use(tmp_path):
    mini = str(FIXTURES / "mini_squad.json")
    recipe = tmp_path / "recipe.json"
    recipe.write_text('{"stages": [{}]}')
    for args, expected in [
        (("--write-targets", "1"), "needs the teachers to write for"),
        (("--write-targets", "1", "--teacher", "t", "--teacher-targets", "x"), "cannot read"),
        (("--teacher-targets", str(tmp_path), "--teacher", "t"), "not both"),
        (("--teacher-targets", str(tmp_path / "nope")), "no such folder"),
        (("--teacher-targets", str(tmp_path), "--recipe", str(recipe)), "not a --recipe"),
        (("--teacher-targets", str(tmp_path), "--output", str(tmp_path / "r")), "not a targets"),
    ]:
        assert expected in _one_error_line(_rag("train-reader", mini, *args)), args


def test_train_reader_refuses_a_bad_recipe_with_one_line(tmp_path):
    mini = str(FIXTURES / "mini_squad.json")
    recipe = tmp_path / "recipe.json"
    for stages, expected in [
        ("[]", "not a recipe file"),
        ('{"stages": []}', "non-empty list of stages"),
        ('{"stages": [{"lr": 1e-4}, {"device": "cuda"}]}', "stage 2 cannot set device"),
        ('{"stages": [{"epochs": "two"}]}', "epochs must be a number"),
        ('{"stages": [{"role": "teacher"}, {}]}', "give its encoder with --teacher-encoder"),
    ]:
        recipe.write_text(stages)
        line = _one_error_line(_rag("train-reader", mini, "--recipe", str(recipe)))
        assert expected in line


@pytest.mark.model
def test_a_recipe_trains_its_stages_in_one_command_and_skips_finished_ones(tmp_path):
    mini = str(FIXTURES / "mini_squad.json")
    recipe = tmp_path / "recipe.json"
    quick = {"minutes": 0.02, "batch_size": 2, "val_articles": 1, "retrieved_negatives": 0}
    recipe.write_text(json.dumps({"stages": [{**quick, "lr": 1e-4}, {**quick, "lr": 3e-5}]}))
    out = tmp_path / "run"
    command = ("train-reader", mini, "--recipe", str(recipe), "--output", str(out))
    result = _rag(*command)
    assert result.returncode == 0, result.stderr
    first = json.loads((out / "stage-1" / "best" / "training.json").read_text())["config"]
    second = json.loads((out / "stage-2" / "best" / "training.json").read_text())["config"]
    assert (first["lr"], second["lr"]) == (1e-4, 3e-5)
    assert first["init"] is None and second["init"] == str(out / "stage-1" / "best")
    again = _rag(*command)
    assert again.returncode == 0 and again.stderr.count("trained before, kept") == 2


def test_perturb_writes_a_squad_2_file(tmp_path):
    out = tmp_path / "v2.json"
    mini = str(FIXTURES / "mini_squad.json")
    result = _rag("perturb", mini, "--output", str(out), "--changed-questions", "1")
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["version"] == "v2.0"
    qas = [qa for a in data["data"] for p in a["paragraphs"] for qa in p["qas"]]
    assert any(qa.get("is_impossible") for qa in qas) and len(qas) > 6
    missing = _one_error_line(_rag("perturb", str(tmp_path / "nope.json"), "--output", str(out)))
    assert "no such file" in missing


@pytest.mark.model
@pytest.mark.milvus
def test_migrate_moves_an_index_between_stores_without_re_embedding(env, tmp_path):
    assert _rag("index", env=env).returncode == 0
    moved = _rag("migrate", "milvus", env=env)
    assert moved.returncode == 0, moved.stderr
    assert "copied 3 documents" in moved.stdout
    on_milvus = {**env, "RAG_STORE": "milvus"}
    listed = json.loads(_rag("documents", "--json", env=on_milvus).stdout)["documents"]
    assert len(listed) == 3
    answer = _rag("ask", "Where was Kim invited?", env=on_milvus)
    assert answer.stdout.startswith("Moscow")
    back = _rag("migrate", "sqlite", "--index-dir", str(tmp_path / "back"), env=on_milvus)
    assert back.returncode == 0 and "copied 3 documents" in back.stdout
    again = _rag("migrate", "milvus", env=env)
    assert "copied 0 documents" in again.stdout, "already there: nothing copied twice"
    same = _one_error_line(_rag("migrate", "sqlite", env=env))
    assert "already in sqlite" in same
