"""The issue's acceptance case with the real models, on both stores: after an edit, a
shortening, a deletion and a rename, no question finds removed text, the renamed file
still answers under its new id, and only the changed passages were embedded."""

from __future__ import annotations

import pytest

from rag.core.settings import Settings
from rag.core.types import AskResult
from rag.service.folder import path_id
from rag.service.manifest import Manifest
from rag.service.sync import FolderSync, SyncReport
from tests.support.syncing import write

BACKENDS = ["sqlite", pytest.param("milvus", marks=pytest.mark.milvus)]


def _texts(result: AskResult) -> list[str]:
    """Every text a question returned: answers, their citations, the passages read."""
    found = [result.answer or ""]
    for answer in result.answers:
        found += [answer.text, *(c.text for c in answer.sources)]
    return found + [c.text for c in result.passages]


@pytest.mark.model
@pytest.mark.parametrize("backend", BACKENDS)
def test_no_question_finds_removed_text_after_a_sync(tmp_path, make_pipeline, backend):
    docs = tmp_path / "docs"
    write(docs / "kim.txt", "Kim's trip\n\nKim Jong Un was invited to Moscow by Vladimir Putin.")
    write(
        docs / "summit.txt",
        "Summit\n\nThe summit was held in a small hall in Vladivostok.\n\n"
        "The summit budget was 40 million dollars, paid by the host city.",
    )
    write(docs / "lavrov.txt", "Lavrov\n\nSergei Lavrov is the foreign minister of Russia.")
    write(docs / "old" / "rail.txt", "Rail\n\nThe railway bridge over the Tumen opened in 2024.")
    settings = Settings(docs_dir=docs, index_dir=tmp_path / "index", store=backend)
    pipeline = make_pipeline(settings)

    def sync() -> SyncReport:
        manifest = Manifest(settings.index_dir)
        try:
            return FolderSync(pipeline.indexer, manifest, docs).run()
        finally:
            manifest.close()

    def passages() -> set[str]:
        store = pipeline.store
        return {c.text for d in store.documents() for c in store.document_chunks(d.doc_id)}

    assert sync().added == 4
    before = passages()
    write(docs / "kim.txt", "Kim's trip\n\nKim Jong Un was invited to Pyongyang by Kim Yo Jong.")
    write(docs / "summit.txt", "Summit\n\nThe summit was held in a small hall in Vladivostok.")
    (docs / "lavrov.txt").unlink()
    (docs / "new").mkdir()
    (docs / "old" / "rail.txt").rename(docs / "new" / "rail.txt")
    report = sync()
    assert (report.changed, report.deleted, report.renamed, report.failed) == (2, 1, 1, [])
    assert report.embedded_passages == len(passages() - before) == 2

    for question, removed in {
        "Where was Kim Jong Un invited?": "Moscow",
        "Who invited Kim Jong Un?": "Putin",
        "What was the summit budget?": "40 million",
        "Who is the foreign minister of Russia?": "Lavrov",
    }.items():
        assert not [t for t in _texts(pipeline.ask(question)) if removed in t], question
    assert pipeline.ask("Where was Kim Jong Un invited?").answer == "Pyongyang"
    moved = pipeline.ask("When did the railway bridge over the Tumen open?")
    assert moved.answer == "2024"
    assert moved.answers[0].sources[0].doc_id == path_id("new/rail.txt")
