"""Reading a synced folder's files (:mod:`rag.service.sync`): which must be read, their
documents, and one line for each that cannot be. No store or manifest writes here."""

from __future__ import annotations

from pathlib import Path

from rag.core.bounds import check_document
from rag.core.errors import IngestError
from rag.core.selection import place
from rag.core.types import Document
from rag.documents.parsing import Parser
from rag.service import folder
from rag.service.sync_plan import Known, Seen, Write

#: Characters of parsed documents held between looking and writing; past them a file is
#: parsed again when written (a first sync of 10,000 large PDFs must not hold every text).
KEEP_CHARS = 200_000_000


class FolderReader:
    """The files of ``root``, read as documents of ``collection``."""

    def __init__(self, parser: Parser, root: Path, collection: str) -> None:
        self.parser = parser
        self.root = root
        self.collection = collection

    def look(self, files: dict[str, folder.FileState], known: Known) -> tuple[dict, dict]:
        """Each file as :class:`Seen` (read and parsed only where needed), and the files
        that could not be read: {path: one line}."""
        seen: dict[str, Seen] = {}
        failed: dict[str, str] = {}
        pending, kept = known.pending_paths, 0
        for path, state in files.items():
            entry = known.entries.get(path)
            current = entry is not None and (entry.parser, entry.model) == known.versions
            current = current and path not in pending
            if current and (entry.size, entry.mtime_ns) == (state.size, state.mtime_ns):
                seen[path] = Seen(state, entry.content_hash, entry.file_hash)
                continue
            try:
                data, state, digest = folder.read(self.root, state)
                if current and entry.file_hash == digest:  # touched, not changed
                    seen[path] = Seen(state, entry.content_hash, digest)
                    continue
                document = self.document(path, data)
            except OSError as exc:
                failed[path] = f"cannot read ({exc.strerror or exc})"
                continue
            except IngestError as exc:
                failed[path] = _one_line(exc, path)
                continue
            kept += len(document.text)
            keep = document if kept <= KEEP_CHARS else None  # else parsed again to be written
            seen[path] = Seen(state, document.content_hash, digest, keep)
        return seen, failed

    def document(self, path: str, data: bytes) -> Document:
        """The document of a file's bytes, named and placed as a synced file."""
        parsed = self.parser.read_bytes(data, path, doc_id=folder.path_id(path), source=path)
        document = place(parsed, self.collection)
        check_document(document)
        return document

    def owner_document(self, write: Write, seen: dict[str, Seen], failed: dict) -> Document | None:
        """The document of a write's file, parsed now if it was not (an unchanged file
        whose content moves to its id); None, and the file failed, if it cannot be."""
        found = seen[write.owner].document
        if found is not None:
            return found
        try:
            data, _, _ = folder.read(self.root, seen[write.owner].state)
            document = self.document(write.owner, data)
        except OSError as exc:
            failed[write.owner] = f"cannot read ({exc.strerror or exc})"
            return None
        except IngestError as exc:
            failed[write.owner] = _one_line(exc, write.owner)
            return None
        if document.content_hash != write.content_hash:  # changed since it was looked at
            failed[write.owner] = "changed while it was synced; the next sync takes it"
            return None
        return document


def _one_line(exc: Exception, path: str) -> str:
    """An error's message as one line, without the file name the list already gives."""
    text = " ".join(str(exc).split())
    return text.removeprefix(f"{path}: ") or type(exc).__name__
