"""The wheel a user installs: what inference needs, and nothing of the training lab's
logs (they name machine paths); every dependency the code imports is declared."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser

import pytest

from tests.support.paths import ROOT

INFERENCE_FILES = {
    "model.safetensors",
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "reader_config.json",
    "README.md",
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    # built from a copy: a checkout's build/ folder keeps files of earlier builds
    source = tmp_path_factory.mktemp("source") / "rag"
    ignore = shutil.ignore_patterns(".*", "build", "dist", "*.egg-info", "index", "runs")
    shutil.copytree(ROOT, source, ignore=ignore)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (path,) = out.glob("rag_qa-*.whl")
    return zipfile.ZipFile(path)


def test_the_wheel_holds_each_packaged_reader_for_inference_only(wheel):
    names = wheel.namelist()
    readers = {n.split("/")[2] for n in names if n.startswith("rag/models/") and n.count("/") == 3}
    assert readers, "a packaged reader ships in the wheel"
    for reader in readers:
        shipped = {n.rsplit("/", 1)[1] for n in names if n.startswith(f"rag/models/{reader}/")}
        assert shipped == INFERENCE_FILES, reader
    assert not [n for n in names if "training" in n and n.endswith((".json", ".jsonl"))]
    assert "api/static/index.html" in names and "rag/cli/__init__.py" in names


def test_the_wheel_declares_what_html_extraction_imports(wheel):
    """lxml 6 no longer brings lxml.html.clean, which trafilatura's jusText imports: with
    Python 3.11's own pip (23.x) nothing else would install it."""
    (meta,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    requires = Parser().parsestr(wheel.read(meta).decode()).get_all("Requires-Dist")
    names = {r.split(";")[0].split("<")[0].split(">")[0].split("=")[0].strip() for r in requires}
    assert {"lxml_html_clean", "trafilatura", "pypdf", "faiss-cpu", "torch"} <= names
