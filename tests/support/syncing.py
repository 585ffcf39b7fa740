"""Helpers for the sync tests: folders of generated documents, and an index (a real
store, an embedder that counts, a manifest) that a folder is synced into."""

from __future__ import annotations

import random
from pathlib import Path

from rag.documents.chunking import Chunker
from rag.documents.parsing import Parser
from rag.service.indexing import Indexer
from rag.service.manifest import Manifest
from rag.service.sync import FolderSync
from rag.stores import open_store
from tests.support.embedding import HashEmbedder


def paragraphs(name: str, n: int) -> str:
    """A document of ``n`` paragraphs; paragraph ``i`` holds the word ``{name}{i}word``."""
    body = (
        f"Paragraph {i} of the {name} file mentions {name}{i}word and little else. "
        f"A second sentence of paragraph {i} follows it here."
        for i in range(n)
    )
    return f"The {name} document\n\n" + "\n\n".join(body) + "\n"


#: The bytes of a file that cannot be read (not UTF-8): it fails, its document stays.
UNREADABLE = b"\xff\xfe\x00\x9c" * 20


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def mutate(docs: Path, rng: random.Random, round_: int) -> None:
    """A few random edits, shortenings, deletions, renames, copies and new files (a file
    that is not UTF-8 is copied as it is, not edited)."""
    files = sorted(docs.rglob("*.txt"))
    for path in rng.sample(files, min(3, len(files))):
        move = rng.choice(["edit", "shorten", "delete", "rename", "copy"])
        data = path.read_bytes()
        text = data.decode("utf-8", errors="replace")
        readable = text.encode("utf-8") == data
        if move == "edit" and readable:
            write(path, text.replace("little", f"round{round_} little", 1))
        elif move == "shorten" and readable:
            write(path, "\n\n".join(text.split("\n\n")[:2]))
        elif move == "delete":
            path.unlink()
        elif move == "rename":
            path.rename(docs / "sub" / f"r{round_}-{path.name}")
        elif move == "copy":
            (docs / f"copy{round_}.txt").write_bytes(data)
    write(docs / f"new{round_}.txt", paragraphs(f"n{round_}x", rng.randint(1, 12)))


class SyncIndex:
    """A store of ``backend`` in ``path``, its indexer and its manifest."""

    def __init__(self, path: Path, backend: str = "sqlite", chunker: Chunker | None = None):
        self.path = path
        self.embedder = HashEmbedder()
        self.store, _ = open_store(
            path, model_id=self.embedder.identity, dimension=self.embedder.dimension,
            backend=backend,
        )  # fmt: skip
        self.indexer = Indexer(self.store, self.embedder, chunker or Chunker(), Parser())
        self.manifest = Manifest(path)

    def sync(self, root: Path, collection: str = "default", allow_empty: bool = False) -> dict:
        run = FolderSync(self.indexer, self.manifest, root, collection, allow_empty=allow_empty)
        return run.run().as_dict()

    def documents(self) -> dict[str, tuple]:
        """Every document's fields (not when it was stored), by id."""
        found = {}
        for summary in self.store.documents():
            d = self.store.document(summary.doc_id)
            found[d.doc_id] = (d.title, d.text, d.source, d.content_hash, d.collection, d.metadata)
        return found

    def passages(self) -> dict[str, list[tuple]]:
        """Every document's passages (position, offsets, text), by document id."""
        return {
            s.doc_id: [
                (c.index, c.start, c.end, c.text) for c in self.store.document_chunks(s.doc_id)
            ]
            for s in self.store.documents()
        }

    def passage_ids(self) -> dict[str, list[int]]:
        return {
            s.doc_id: [c.id for c in self.store.document_chunks(s.doc_id)]
            for s in self.store.documents()
        }

    def passage_texts(self) -> set[str]:
        return {text for chunks in self.passages().values() for *_, text in chunks}

    def passage_count(self) -> int:
        return sum(len(chunks) for chunks in self.passages().values())

    def close(self) -> None:
        self.indexer.close()
        self.store.close()
        self.manifest.close()
