"""Gold-span parsing of the retrieval eval, and (slow) the real embedder and recall on the LongHealth-style fixture."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from clinqa.records import Question
from evals.retrieval_eval import evaluate, gold_spans

DATA = Path(__file__).parent / "data" / "longhealth_mini.json"


def _q(loc, extra=None):
    return Question("p", "1", "q?", answer_location=loc, extra=extra or {})


def test_gold_spans_from_every_answer_location_form():
    lengths = {"text_0": 1000, "text_1": 200}
    assert [(g.note_key, g.start, g.end) for g in gold_spans(_q({"text_0": {"start": [0.1, 0.5], "end": [0.2, 0.55]}}), lengths)] == [
        ("text_0", 100, 200), ("text_0", 500, 550)]
    assert [(g.start, g.end) for g in gold_spans(_q({"text_1": [0.5, 0.75]}), lengths)] == [(100, 150)]
    assert [(g.start, g.end) for g in gold_spans(_q({"text_0": [[0.0, 0.01], [0.9, 1.0]]}), lengths)] == [(0, 10), (900, 1000)]
    exact = gold_spans(_q({"text_0": [0.1, 0.2]}, {"answer_spans": [{"text": "text_1", "start": 17, "end": 42}]}), lengths)
    assert [(g.note_key, g.start, g.end) for g in exact] == [("text_1", 17, 42)]
    assert gold_spans(_q({"text_9": [0.1, 0.2]}), lengths) == []


def test_fixture_gold_spans_point_at_the_answer_text():
    data = json.loads(DATA.read_text())
    for pid, p in data.items():
        lengths = {k: len(t) for k, t in p["texts"].items()}
        for q in p["questions"]:
            extra = {"answer_spans": q["answer_spans"]} if "answer_spans" in q else {}
            (g,) = gold_spans(_q(q["answer_location"], extra), lengths)
            quote = p["texts"][g.note_key][g.start : g.end]
            # fractions are rounded to 4 digits: allow a few characters of slack at the edges
            assert q["correct"][3:-3] in p["texts"][g.note_key][max(0, g.start - 3) : g.end + 3], (quote, q["correct"])


@pytest.fixture(scope="module")
def embedder():
    from retrieval.embedding import Embedder

    e = Embedder()
    e.warm_up()
    return e


@pytest.mark.slow
def test_packaged_minilm_encodes_normalised_vectors(embedder):
    v = embedder.encode(["metformin 500 mg twice daily", "furosemide 40 mg", "metformin 1000 mg daily"])
    assert v.shape == (3, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert v[0] @ v[2] > v[0] @ v[1]


@pytest.mark.slow
def test_recall_on_longhealth_fixture(tmp_path, embedder):
    res = evaluate([DATA], tmp_path / "ws", embedder, window=3, overlap=1, extract=False)
    rec = res["recall"]
    assert res["questions"] == 27
    assert rec["hybrid"][10] >= 0.95
    for k in (5, 10):
        assert rec["hybrid"][k] >= rec["bm25"][k] and rec["hybrid"][k] >= rec["dense"][k]
