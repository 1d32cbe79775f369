"""The synthetic LongHealth-style generator, the shipped dev set and the bundled sample patients (fast)."""
from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path

import pytest

from evals.synth import KINDS, generate, main
from graph_store.readers import ReadItem, ReadProblem, read_path, read_text_note

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT / "evals" / "data" / "dev.json"
SAMPLES = ROOT / "clinqa" / "samples"
LETTERS = "abcde"


@pytest.fixture(scope="module")
def dev() -> dict:
    return generate(10, 1)


def _options(q: dict) -> list[str]:
    return [q[f"answer_{x}"] for x in LETTERS]


def _check_question(p: dict, q: dict) -> None:
    opts = _options(q)
    assert all(isinstance(o, str) and o.strip() for o in opts), q
    assert len({o.strip().lower() for o in opts}) == 5, opts
    assert q["correct"] in opts
    spans = q["answer_spans"]
    assert spans, q["question"]
    for sp in spans:
        text = p["texts"][sp["text"]]
        s, e = sp["start"], sp["end"]
        assert 0 <= s < e <= len(text)
        assert text[s:e].strip() == text[s:e]  # a whole sentence / row, no surrounding blanks
        assert text[s:e]
    # LongHealth-style fractions hold the same spans
    loc = q["answer_location"]
    assert set(loc) == {sp["text"] for sp in spans}
    for key, ent in loc.items():
        n = len(p["texts"][key])
        mine = [sp for sp in spans if sp["text"] == key]
        assert len(ent["start"]) == len(ent["end"]) == len(mine)
        for sp, a, b in zip(mine, ent["start"], ent["end"]):
            assert abs(a * n - sp["start"]) <= 1 and abs(b * n - sp["end"]) <= 1
            assert 0 <= a < b <= 1


# -- generator -----------------------------------------------------------------------------------------------
def test_deterministic_by_seed():
    a, b = generate(3, 7), generate(3, 7)
    assert a == b
    assert json.dumps(a) == json.dumps(b)
    c = generate(3, 8)
    assert a != c
    assert [p["texts"]["text_0"] for p in a.values()] != [p["texts"]["text_0"] for p in c.values()]


def test_patient_shape_sizes_and_notes(dev):
    assert list(dev) == [f"patient_{i:02d}" for i in range(1, 11)]
    for pid, p in dev.items():
        assert p["name"] and p["birthday"] and p["diagnosis"]
        keys = list(p["texts"])
        assert 5 <= len(keys) <= 15, (pid, len(keys))
        assert keys == [f"text_{i}" for i in range(len(keys))]
        words = sum(len(t.split()) for t in p["texts"].values())
        assert 3000 <= words <= 7000, (pid, words)
        assert set(p["text_dates"]) == set(keys) == set(p["text_types"])
        dates = [dt.date.fromisoformat(p["text_dates"][k]) for k in keys]
        assert dates == sorted(dates)
        assert all(p["text_types"][k] for k in keys)
        assert 8 <= len(p["questions"]) <= 12, (pid, len(p["questions"]))
        assert [q["No"] for q in p["questions"]] == list(range(1, len(p["questions"]) + 1))


def test_questions_options_and_spans(dev):
    for p in dev.values():
        for q in p["questions"]:
            assert q["kind"] in KINDS
            _check_question(p, q)


def test_correct_letter_is_shuffled(dev):
    letters = {x for p in dev.values() for q in p["questions"] for x in LETTERS if q[f"answer_{x}"] == q["correct"]}
    assert letters == set(LETTERS)


def test_every_kind_present(dev):
    kinds = {q["kind"] for p in dev.values() for q in p["questions"]}
    assert kinds == set(KINDS)
    for p in dev.values():  # and every patient gets a mix
        assert len({q["kind"] for q in p["questions"]}) >= 4


def test_ground_truth_matches_the_questions(dev):
    for p in dev.values():
        gt = p["ground_truth"]
        ae = gt["adverse_event"]
        onset, start = dt.date.fromisoformat(ae["onset"]), dt.date.fromisoformat(ae["drug_start"])
        assert (onset - start).days == ae["days_after_start"] > 0
        assert any(m["name"] == ae["drug"] and m["stop"] for m in gt["medications"])
        assert gt["family_history"] and gt["negated_findings"] and gt["labs"] and gt["procedures"] and gt["imaging"]
        for q in p["questions"]:
            if q["template"] == "ae_interval":
                assert q["correct"] == f"{ae['days_after_start']} days"
            if q["template"] == "not_given":
                everything = " ".join(p["texts"].values()).lower()
                assert q["correct"].lower() not in everything
            if q["template"] == "lab_value":
                assert q["correct"].split()[0] in "".join(p["texts"][s["text"]][s["start"]:s["end"]] for s in q["answer_spans"])
        # negated findings appear in the text in their negated form
        for n in gt["negated_findings"]:
            assert n["sentence"] in " ".join(p["texts"].values())


def test_interval_evidence_in_the_text(dev):
    for p in dev.values():
        ae = p["ground_truth"]["adverse_event"]
        for q in p["questions"]:
            if q["template"] == "ae_interval":
                ev = [p["texts"][s["text"]][s["start"]:s["end"]] for s in q["answer_spans"]]
                assert ae["drug"] in ev[0].lower() and "started" in ev[0]


def test_shipped_dev_set_equals_generator(dev):
    assert DEV.is_file(), "regenerate: python -m evals.synth --patients 10 --seed 1 --out evals/data/dev.json"
    assert json.loads(DEV.read_text()) == dev


def test_dev_set_loads_with_readers_and_harness():
    from evals.harness import gold_spans, load_set

    items = list(read_path(DEV))
    problems = [str(x) for x in items if isinstance(x, ReadProblem)]
    assert not problems, problems[:3]
    assert len([x for x in items if isinstance(x, ReadItem)]) == 10
    es = load_set(DEV)
    raw = json.loads(DEV.read_text())
    assert es.n_questions == sum(len(p["questions"]) for p in raw.values())
    for pid, ep in es.patients.items():
        assert all(n.date_known for n in ep.notes)
        by_key = {n.source_key: n for n in ep.notes}
        for q in ep.questions:
            assert q.correct_letter is not None and q.kind in KINDS
            for key, s, e in gold_spans(q, by_key):
                assert by_key[key].text[s:e].strip()


def test_fast_and_cli(tmp_path):
    t = time.perf_counter()
    data = generate(50, 11)
    assert time.perf_counter() - t < 10
    assert len(data) == 50
    out = tmp_path / "s.json"
    assert main(["--patients", "2", "--seed", "3", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == generate(2, 3)
    assert list(generate(100, 0))[:2] == ["patient_001", "patient_002"]


# -- bundled samples ----------------------------------------------------------------------------------------------
def test_sample_patients_load_and_spans_point_into_notes():
    path = SAMPLES / "sample_patients.json"
    items = list(read_path(path))
    assert not [str(x) for x in items if isinstance(x, ReadProblem)]
    raw = json.loads(path.read_text())
    assert 2 <= len(raw) <= 3
    for pid, p in raw.items():
        assert 3 <= len(p["texts"]) <= 6
        assert set(p["text_dates"]) == set(p["texts"]) == set(p["text_types"])
        assert 4 <= len(p["questions"]) <= 6
        for q in p["questions"]:
            assert q["kind"] in KINDS
            _check_question(p, q)
            for sp in q["answer_spans"]:
                sent = p["texts"][sp["text"]][sp["start"]:sp["end"]]
                assert re.search(r"[.)]$", sent), sent  # whole sentences
    from evals.harness import load_set

    es = load_set(path)
    assert all(q.correct_letter for ep in es.patients.values() for q in ep.questions)


def test_injection_note_front_matter_and_harmless():
    path = SAMPLES / "injection_note.md"
    note = read_text_note(path, "patient_01")
    assert note.date_known and note.note_date == dt.date(2023, 3, 27)
    assert note.note_type == "progress note"
    assert "Ignore all previous instructions" in note.text and "SYSTEM:" in note.text
    first = json.loads((SAMPLES / "sample_patients.json").read_text())["patient_01"]
    assert first["name"] in note.text
    low = note.text.lower()
    for q in first["questions"]:
        for o in _options(q):
            assert o.lower() not in low, o  # mentions no option, so it cannot support or refute one
    assert (SAMPLES / "README.md").is_file()
