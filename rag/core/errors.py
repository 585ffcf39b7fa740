"""The library's expected errors, in one light module.

Front ends (the CLI, the API) turn these into one clear line or an HTTP 4xx; keeping
them here lets a front end catch them without importing FAISS, the store or the models.
"""

from __future__ import annotations


class IngestError(ValueError):
    """A file or text that cannot become a document."""


class LimitExceeded(IngestError):
    """A file past one of the parsing limits (time, memory, pages, text size): refused
    with the limit named, so that the caller knows what to change."""


class ShuttingDown(RuntimeError):
    """The service is stopping (SIGTERM): the work under way was abandoned and nothing of
    it stored, so the same request succeeds once the service is back (a 503 with
    ``Retry-After``, not a 500: the request was fine)."""

    def __init__(self, message: str = "the service is shutting down; retry") -> None:
        super().__init__(message)


class QuestionError(ValueError):
    """A question that cannot be asked (empty, too long)."""


class FeedbackError(ValueError):
    """Feedback that cannot be stored (a verdict without its span, offsets outside the
    document): nothing is stored."""


class UnknownDocumentError(LookupError):
    """A request names a document that is not in the index."""


class StoreError(RuntimeError):
    """The index folder cannot be used (corrupt, foreign, or unwritable)."""


class SquadError(ValueError):
    """SQuAD data that cannot be used; the message says why."""


class TargetsError(ValueError):
    """Stored teacher targets that do not belong to this training run's windows."""


class IndexMismatchError(StoreError):
    """The index was built with another embedding model (or dimension)."""


class StorageFullError(StoreError):
    """The disk is full: the write was not stored (nothing half-written)."""


class StoreDamagedError(StoreError):
    """The index's files are damaged (corrupt pages, lost or replaced files)."""
