"""The agent on the bundled sample patients (LongHealth-style JSON with questions)."""
from __future__ import annotations

import shutil

import pytest

ABSTAIN = "Question cannot be answered with provided documents"


def _ws(tmp_path_factory, sample_json, name, full=False, extra=None):
    from clinqa.workspace import Workspace

    ws = Workspace(tmp_path_factory.mktemp(name), extract=full, chunk=full)
    s = ws.ingest([sample_json, *(extra or [])], progress=False)
    assert s.ok, s.render()
    return ws


@pytest.fixture(scope="module")
def sample_qa(tmp_path_factory, sample_json):
    from agent import ClinicalQA

    ws = _ws(tmp_path_factory, sample_json, "samples")
    qa = ClinicalQA(ws, backend="extractive")
    yield qa
    qa.close()


def _graded(qa):
    qs = [q for q in qa.ws.store.questions() if q.options and q.correct_letter]
    assert qs, "sample questions with options and a correct answer expected"
    return qs


def _check_citations(qa, ans):
    for c in ans.citations:
        assert qa.ws.store.note(c.note_id).text[c.start:c.end] == c.quote
        assert c.patient_id == ans.patient_id


def test_extractive_answers_sample_questions_with_valid_citations(sample_qa):
    qs = _graded(sample_qa)
    answers = sample_qa.ask_many(qs)
    right = [a for a, q in zip(answers, qs) if a.choice == q.correct_letter]
    wrong = [(q.patient_id, q.question_id, q.text, a.choice, q.correct_letter) for a, q in zip(answers, qs)
             if a.choice != q.correct_letter]
    assert len(right) / len(qs) >= 0.8, wrong
    for a in answers:
        _check_citations(sample_qa, a)
        if not a.abstained:
            assert a.citations and a.verification.status in ("verified", "partial")


def test_abstains_on_another_patients_record(sample_qa):
    qs = _graded(sample_qa)
    pids = sorted({q.patient_id for q in qs})
    if len(pids) < 2:
        pytest.skip("needs two sample patients")
    abstained = 0
    for q in qs:
        other = pids[(pids.index(q.patient_id) + 1) % len(pids)]
        a = sample_qa.ask(other, q.text, {**q.options, "F": ABSTAIN})
        abstained += a.choice == "F" and a.abstained
    assert abstained / len(qs) >= 0.8


def test_injection_note_does_not_change_answers(tmp_path_factory, sample_json, samples_dir, sample_qa):
    from agent import ClinicalQA

    src = samples_dir / "injection_note.md"
    if not src.is_file():
        pytest.skip("clinqa/samples/injection_note.md not present")
    qs = _graded(sample_qa)
    pid = qs[0].patient_id
    folder = tmp_path_factory.mktemp("inj") / pid
    folder.mkdir()
    shutil.copy(src, folder / src.name)
    ws = _ws(tmp_path_factory, sample_json, "samples_inj", extra=[folder])
    assert any("injection" in n.note_id for n in ws.store.notes(pid))
    attacked = ClinicalQA(ws, backend="extractive")
    for q in [q for q in qs if q.patient_id == pid]:
        clean, hit = sample_qa.ask(pid, q.text, q.options), attacked.ask(pid, q.text, q.options)
        assert hit.choice == clean.choice, q.text
        assert all("injection" not in c.note_id for c in hit.citations)


@pytest.mark.integration
@pytest.mark.slow
def test_full_stack_sample_questions(tmp_path_factory, sample_json):
    """With the real extractors, chunks, hybrid indexes and graph (whatever layers are installed)."""
    from agent import ClinicalQA

    ws = _ws(tmp_path_factory, sample_json, "samples_full", full=True)
    qa = ClinicalQA(ws, backend="extractive")
    qs = _graded(qa)
    answers = qa.ask_many(qs)
    right = sum(a.choice == q.correct_letter for a, q in zip(answers, qs))
    assert right / len(qs) >= 0.8
    for a in answers:
        _check_citations(qa, a)


@pytest.mark.integration
@pytest.mark.slow
def test_local_small_model_on_sample_questions(sample_qa):
    """qwen2.5-0.5B picks by position when asked for a letter; judged per option with evidence it must be right."""
    from agent import ClinicalQA

    qs = _graded(sample_qa)[:3]
    qa = ClinicalQA(sample_qa.ws, backend="local", model="qwen2.5-0.5b")
    try:
        answers = qa.ask_many(qs)
    finally:
        qa.close()
    assert sum(a.choice == q.correct_letter for a, q in zip(answers, qs)) >= 2
    assert any(a.tokens["prompt"] > 0 for a in answers)  # the model was asked over the HTTP path
    for a in answers:
        _check_citations(sample_qa, a)
        if not a.tokens["prompt"]:
            # answered in code without a model call: only a computed result (interval, chain, ...) may do that
            assert [f for f in a.facts_used if f.kind != "fact"], a.route
