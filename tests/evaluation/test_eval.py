"""`rag eval` on a small SQuAD-format fixture of our own, with the real packaged reader."""

import json

import pytest

from rag.evaluation.evaluate import evaluate
from tests.support.cli import rag_here
from tests.support.paths import FIXTURES

pytestmark = pytest.mark.model
MINI = FIXTURES / "mini_squad.json"


def test_reader_only_and_open_mode_scores(settings, reader, embedder):
    report, preds = evaluate(MINI, settings, reader_only=True, reader=reader, embedder=embedder)
    assert report["questions"] == 6 and set(preds) == {"z1", "z2", "z3", "z4", "q1", "q2"}
    assert report["f1"] >= 80, report
    open_report, _ = evaluate(MINI, settings, reader=reader, embedder=embedder)
    assert open_report["paragraphs"] == 3
    assert open_report["retrieval_recall"] == 100.0
    assert open_report["f1"] >= 80, open_report
    assert 0 <= open_report["answered"] <= 100
    assert open_report["latency_ms_p95"] >= open_report["latency_ms_p50"] > 0
    assert not (settings.index_dir).exists(), "the user's index is never touched"


def test_eval_command_json_and_predictions(tmp_path):
    out = tmp_path / "preds.json"
    env = {"RAG_INDEX_DIR": str(tmp_path / "index")}
    # by its entry point in this process: the command's output without a Python start
    result = rag_here(
        "eval", str(MINI), "--reader-only", "--json", "--predictions", str(out), env=env
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {"exact_match", "f1", "questions", "retrieval_recall"} <= set(report)
    preds = json.loads(out.read_text())
    assert preds["q2"] == "Ilse Varga"


@pytest.fixture
def squad2_file(tmp_path):
    """The mini fixture plus an unanswerable (changed-question) copy of its questions."""
    from rag.evaluation import squad
    from rag.evaluation.perturb import perturbed_examples

    examples = squad.load([MINI])
    extra = perturbed_examples(examples, changed_questions=1.0, distractors=0.0, seed=1)
    path = tmp_path / "v2.json"
    squad.dump(examples + extra, path)
    return path, examples, extra


def test_squad_2_file_scores_abstention_and_open_mode_reports_recall_at_1_and_5(
    settings, reader, embedder, squad2_file
):
    path, _, extra = squad2_file
    report, _ = evaluate(path, settings, reader=reader, embedder=embedder)
    assert report["v2_no_answer_questions"] == len(extra) > 0
    assert report["v2_has_answer_questions"] == 6
    assert report["questions"] == 6 + len(extra)
    assert 0 <= report["v2_f1"] <= 100 and 0 <= report["v2_no_answer_f1"] <= 100
    assert report["retrieval_recall_at_5"] >= report["retrieval_recall_at_1"] > 0


def test_calibration_through_the_pipeline_counts_impossible_questions(
    settings, reader, embedder, squad2_file, tmp_path
):
    from rag.evaluation.calibration import write_threshold
    from rag.evaluation.evaluate import calibrate, calibration_note

    path, examples, extra = squad2_file
    report = calibrate(path, settings, unanswerable_share=0.5, reader=reader, embedder=embedder)
    assert report["answerable_questions"] + report["unanswerable_questions"] == len(
        examples + extra
    )
    assert report["unanswerable_marked_impossible"] >= 1
    assert 0 <= report["threshold"] <= 1 and 0 <= report["expected_f1_at_threshold"] <= 100
    write_threshold(tmp_path, report["threshold"], calibration_note(report, path))
    config = json.loads((tmp_path / "reader_config.json").read_text())
    assert (
        config["threshold"] == report["threshold"]
        and "marked impossible" in (config["threshold_chosen_on"])
    )
