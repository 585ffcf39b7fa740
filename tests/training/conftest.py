"""What the training tests share, built once per session because they only read it: the
student's tokenizer, the packaged reader as a teacher, and that reader under a permuted
vocabulary (a teacher with another tokenizer)."""

from __future__ import annotations

import json

import pytest
import torch

from rag.core.settings import PACKAGED_READER, packaged_embedding_model


@pytest.fixture(scope="session")
def tokenizer():
    """The student's tokenizer: the packaged embedding model's, as runs train from it."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(packaged_embedding_model())


@pytest.fixture(scope="session")
def student_tokenizer():
    """The packaged reader's tokenizer (the student's vocabulary)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(PACKAGED_READER)


@pytest.fixture(scope="session")
def packaged_teacher(student_tokenizer):
    """The packaged reader as a teacher: it reads the student's own batch."""
    from rag.training.teachers import Teacher

    return Teacher(str(PACKAGED_READER), "cpu").load(student_tokenizer)


@pytest.fixture(scope="session")
def permuted_teacher(tmp_path_factory, student_tokenizer):
    """The packaged reader under a tokenizer whose ids of "the" and "of" are swapped: the
    same model under another vocabulary (a folder; runs load it themselves)."""
    from transformers import AutoModelForQuestionAnswering

    path = tmp_path_factory.mktemp("permuted")
    model = AutoModelForQuestionAnswering.from_pretrained(PACKAGED_READER, dtype=torch.float32)
    vocab = student_tokenizer.get_vocab()
    a, b = vocab["the"], vocab["of"]
    emb = model.get_input_embeddings().weight
    with torch.no_grad():
        emb[[a, b]] = emb[[b, a]].clone()
    model.save_pretrained(path)
    student_tokenizer.save_pretrained(path)
    spec = json.loads((path / "tokenizer.json").read_text())
    spec["model"]["vocab"]["the"], spec["model"]["vocab"]["of"] = b, a
    (path / "tokenizer.json").write_text(json.dumps(spec))
    (path / "vocab.txt").unlink(missing_ok=True)
    return path
