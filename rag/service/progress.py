"""Progress of passages embedded: the hook every long write offers, and a terminal bar.

:meth:`rag.service.indexing.Indexer.add_documents` (and ``write``) take ``progress``, a
callable given (passages embedded, passages to embed) of that write before each slice
of embedding and once at its end. Embedding is most of a write's time (about a minute a
megabyte on 2 cores), so it is the count worth showing: ``rag index`` shows it here
(:class:`PassageBar`), jobs report it over HTTP (:mod:`rag.service.jobs`), and ``rag
sync`` may do either. The callable may raise to abandon the write (a cancelled job):
nothing of it is stored, since the store is written only after every vector is made.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from tqdm import tqdm

#: ``progress(done, total)``: passages of one write embedded so far, of its total.
Progress = Callable[[int, int], None]


class PassageBar:
    """A tqdm bar of passages embedded over several writes (batches of files): each
    write's counts are added to those of the writes before it, so the total grows as
    batches are chunked. Usage::

        with PassageBar("indexing", disable=not progress) as bar:
            for batch in batches:
                indexer.add_documents(batch, progress=bar.write())
    """

    def __init__(self, desc: str = "embedding", disable: bool = False) -> None:
        self.bar = tqdm(total=0, desc=desc, unit="passage", disable=disable)

    def write(self) -> Progress:
        """The callback for the next write."""
        done_before, total_before = self.bar.n, self.bar.total

        def report(done: int, total: int) -> None:
            self.bar.total = total_before + total
            self.bar.n = done_before + done
            self.bar.refresh()

        return report

    def close(self) -> None:
        self.bar.close()

    def __enter__(self) -> PassageBar:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
