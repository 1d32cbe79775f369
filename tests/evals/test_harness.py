"""Eval harness: LongHealth loader, task 2/3 construction, scoring, resume."""
from __future__ import annotations

import json

import pytest

from evals.harness import ABSTAIN_OPTION, EvalConfig, build_tasks, gold_spans, load_set, run_eval
from evals.report import compare, compute_metrics

TEXT0 = "Date: 2023-01-05\nDischarge letter.\nDiagnosis: hypertension.\nStarted lisinopril 10 mg daily.\nNo chest pain."
TEXT1 = "Date: 2023-02-10\nProgress note.\nBP 150/95. Lisinopril increased to 20 mg daily."
TEXT2 = "Date: 2022-07-01\nRadiology report.\nCT chest: no pulmonary embolism. Small nodule in the right upper lobe."


def _longhealth(tmp_path):
    """A set in LongHealth's public shape (fractions, correct answer as option text)."""
    start = TEXT0.index("Started lisinopril")
    data = {
        "patient_01": {
            "name": "A", "birthday": "1950-01-01", "diagnosis": "hypertension",
            "texts": {"text_0": TEXT0, "text_1": TEXT1},
            "questions": [
                {"No": 1, "question": "Which antihypertensive was started?", "answer_a": "Lisinopril",
                 "answer_b": "Amlodipine", "answer_c": "Metoprolol", "answer_d": "Losartan", "answer_e": "Heparin",
                 "correct": "Lisinopril",
                 "answer_location": {"text_0": [[start / len(TEXT0), (start + 30) / len(TEXT0)]]}},
                {"No": 2, "question": "To what dose was lisinopril increased?", "answer_a": "5 mg", "answer_b": "10 mg",
                 "answer_c": "20 mg", "answer_d": "40 mg", "answer_e": "80 mg", "correct": "20 mg",
                 "answer_location": {"text_1": [0.5, 0.99]}},
            ],
        },
        "patient_02": {
            "name": "B", "birthday": "1960-01-01", "diagnosis": "lung nodule",
            "texts": {"text_0": TEXT2},
            "questions": [
                {"No": 1, "question": "What did the CT chest show?", "answer_a": "Pulmonary embolism",
                 "answer_b": "A small nodule in the right upper lobe", "answer_c": "Pneumonia",
                 "answer_d": "Pleural effusion", "answer_e": "Normal findings",
                 "correct": "A small nodule in the right upper lobe", "answer_location": {}},
            ],
        },
    }
    path = tmp_path / "set.json"
    path.write_text(json.dumps(data))
    return path


def test_loader_reads_public_longhealth_shape(tmp_path):
    es = load_set(_longhealth(tmp_path))
    assert sorted(es.patients) == ["patient_01", "patient_02"] and es.n_questions == 3
    p1 = es.patients["patient_01"]
    q = p1.questions[0]
    assert q.correct_letter == "A"
    (key, s, e), = gold_spans(q, {n.source_key: n for n in p1.notes})
    assert key == "text_0" and TEXT0[s:e].startswith("Started lisinopril")
    # a flat [start, end] pair (not nested) is accepted too
    (key2, s2, e2), = gold_spans(p1.questions[1], {n.source_key: n for n in p1.notes})
    assert key2 == "text_1" and "increased" in TEXT1[s2:e2]



def test_gold_spans_read_the_public_start_end_dict():
    """LongHealth ships {"text_0": {"start": [f, ...], "end": [f, ...]}}: one span per pair."""
    from clinqa.records import Note, Question

    note = Note("p", "text_0", "x" * 200)
    q = Question("p", "1", "?", answer_location={"text_0": {"start": [0.1, 0.5], "end": [0.2, 0.6]}})
    assert gold_spans(q, {"text_0": note}) == [("text_0", 20, 40), ("text_0", 100, 120)]

def test_loader_rejects_sets_without_questions(tmp_path):
    path = tmp_path / "noq.json"
    path.write_text(json.dumps({"patient_01": {"texts": {"text_0": TEXT0}}}))
    with pytest.raises(Exception, match="no questions"):
        load_set(path)


def test_task_construction(tmp_path):
    es = load_set(_longhealth(tmp_path))
    corpus, items = build_tasks(es, [1, 2, 3], n_distractors=1, seed=3)
    notes = {p.patient_id: ns for p, ns in corpus}
    # task 1: own notes only
    assert {n.source_key for n in notes["patient_01"]} == {"text_0", "text_1"}
    # task 2: own notes plus a distractor from the other patient, ingested under this patient
    t2 = notes["patient_01__t2"]
    assert {"text_0", "text_1"} <= {n.source_key for n in t2}
    assert any(n.source_key.startswith("patient_02__") for n in t2)
    assert all(n.patient_id == "patient_01__t2" for n in t2)
    # task 3: only other patients' documents, gold is F
    t3 = notes["patient_01__t3"]
    assert t3 and all(n.source_key.startswith("patient_02__") for n in t3)
    by_task = {}
    for it in items:
        by_task.setdefault(it.task, []).append(it)
    assert len(by_task[1]) == len(by_task[2]) == len(by_task[3]) == 3
    assert all(ABSTAIN_OPTION not in it.options for it in by_task[1])
    assert all(it.options[ABSTAIN_OPTION] and it.gold != ABSTAIN_OPTION for it in by_task[2])
    assert all(it.gold == ABSTAIN_OPTION and not it.gold_spans for it in by_task[3])
    assert by_task[2][0].gold_spans[0][0] == "patient_01__t2/text_0"
    # deterministic by seed
    _, again = build_tasks(es, [1, 2, 3], n_distractors=1, seed=3)
    assert [i.key for i in again] == [i.key for i in items]


def test_limit_takes_questions_round_robin_over_patients(tmp_path):
    from evals.harness import select_items

    es = load_set(_longhealth(tmp_path))
    _, items = build_tasks(es, [1, 2], n_distractors=1, seed=3)
    picked = select_items(items, 2)
    for task in (1, 2):
        mine = [it for it in picked if it.task == task]
        assert len(mine) == 2 and {it.source_patient for it in mine} == {"patient_01", "patient_02"}
    assert [items.index(it) for it in picked] == sorted(items.index(it) for it in picked)  # input order kept
    assert select_items(items, 100) == items


def _rec(task, kind, gold, pred, verification="verified", draft=None, lat=1.0):
    return {"key": f"{task}{kind}{gold}{pred}", "task": task, "kind": kind, "gold": gold, "pred": pred,
            "correct": gold == pred, "verification": verification, "draft_choice": draft, "latency_s": lat,
            "citations": [{}], "citations_valid": 1, "citations_on_gold": 1 if pred == gold else 0,
            "has_gold_spans": gold != "F", "prompt_tokens": 100, "error": None}


def test_scoring():
    recs = [
        _rec(1, "temporal", "A", "A"), _rec(1, "temporal", "B", "C"), _rec(1, "negation", "D", "D"),
        _rec(2, "temporal", "A", "F", verification="abstained", draft="C"),
        _rec(3, "temporal", "F", "F", verification="abstained"), _rec(3, "negation", "F", "B", lat=5.0),
    ]
    m = compute_metrics(recs)
    assert m["overall"] == {"n": 6, "accuracy": round(3 / 6, 4)}
    assert m["by_task"]["task1"]["accuracy"] == round(2 / 3, 4)
    assert m["by_kind"]["task1/temporal"] == {"n": 2, "accuracy": 0.5}
    assert m["abstention"] == {"predicted": 2, "gold": 2, "precision": 0.5, "recall": 0.5}
    assert m["verification"]["caught_wrong_answers"] == 1  # draft C was wrong and was not returned
    assert m["verification"]["status_counts"] == {"verified": 4, "abstained": 2}
    assert m["latency_s"]["p50"] == 1.0 and m["latency_s"]["p95"] > 1.0


def test_compare_scores_partial_runs_on_common_questions(tmp_path):
    from evals.report import write_report

    full = [_rec(1, "temporal", "A", "A"), _rec(1, "numeric", "B", "C"), _rec(2, "negation", "A", "A"),
            _rec(3, "temporal", "F", "F")]
    partial = [dict(full[1], pred="B", correct=True)]  # answered one question only, and right
    for name, recs, mode in (("a", full, "stack"), ("b", partial, "collapsed")):
        d = tmp_path / name
        d.mkdir()
        m = compute_metrics(recs)
        m["config"] = {"backend": "local", "mode": mode}
        write_report(m, recs, d)
        (d / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    text = compare(tmp_path / "a", tmp_path / "b")
    assert text.startswith("compared on the 1 questions both runs answered (a: 4, b: 1)")
    overall = next(line for line in text.splitlines() if line.startswith("overall"))
    assert overall.split()[1:] == ["0.0", "1.0", "+1.000"]


@pytest.mark.integration
def test_run_resume_and_compare(tmp_path):
    pytest.importorskip("agent")
    path = _longhealth(tmp_path)
    out = tmp_path / "run"
    cfg = EvalConfig(backend="extractive", tasks=[1, 3], n_distractors=1)
    m1 = run_eval(path, out, cfg, progress=False)
    assert m1["n_questions"] == 6
    lines = (out / "log.jsonl").read_text().splitlines()
    assert len(lines) == 6
    # interrupted run: drop two results (and leave a torn line); resuming asks only those again
    (out / "log.jsonl").write_text("\n".join(lines[:4]) + "\n{\"torn")
    m2 = run_eval(path, out, cfg, progress=False)
    assert m2["n_questions"] == 6
    keys = [json.loads(l)["key"] for l in (out / "log.jsonl").read_text().splitlines() if l.startswith("{\"key")]
    assert len(keys) == 6 and len(set(keys)) == 6
    for name in ("report.json", "report.md", "accuracy.png", "latency.png"):
        assert (out / name).is_file()
    assert m2["coverage"] == {"answered": 6, "planned": 6, "partial": False}
    # the report of an interrupted run, rewritten from its log alone, says it is partial
    from evals.harness import report_from_log

    (out / "log.jsonl").write_text("\n".join(lines[:4]) + "\n")
    m3 = report_from_log(out)
    assert m3["coverage"] == {"answered": 4, "planned": 6, "partial": True} and m3["n_questions"] == 4
    assert "Partial run**: 4 of 6" in (out / "report.md").read_text()
    # the extractive backend answers task-3 questions (no own notes) with F far more often than not
    assert m2["by_task"]["task3"]["accuracy"] >= 0.5
    with pytest.raises(Exception, match="another configuration"):
        run_eval(path, out, EvalConfig(backend="extractive", tasks=[1]), progress=False)
    text = compare(out, out)
    assert "overall" in text and "+0.000" in text


def test_risk_coverage_orders_answers_by_trust():
    """Unique-verified answers first, then other verified ones, then unverified; abstentions never count."""
    from evals.report import compute_metrics, risk_coverage

    recs = ([{"verification": "verified", "options_verified": 1, "correct": True}] * 3
            + [{"verification": "verified", "options_verified": 2, "correct": False}]
            + [{"verification": "unsupported", "options_verified": 0, "correct": False}] * 2
            + [{"verification": "abstained", "options_verified": 0, "correct": False}] * 2)
    assert risk_coverage(recs) == [[0.375, 0.0], [0.5, 0.25], [0.75, 0.5]]
    for r in recs:
        r.update(task=1, kind="x", gold="A")
    m = compute_metrics(recs)
    assert m["verification"]["wrong_verified_share"] == round(1 / 8, 4)
    assert m["verification"]["risk_coverage"] == risk_coverage(recs)
