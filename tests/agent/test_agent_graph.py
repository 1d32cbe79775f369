"""The agent over the real graph/timeline layer, with hand-made facts (no extractor needed)."""
from __future__ import annotations

import datetime as dt

import pytest

from clinqa.records import Assertion, DateKind, Fact, FactType, Note, Patient
from test_agent_fixture import DATES, NOTES

pytest.importorskip("graph_store.graph")

# (note key, surface text, type, name, assertion, occurred date, attributes)
FACTS = [
    ("text_0", "Community-acquired pneumonia", FactType.PROBLEM, "community-acquired pneumonia", "present", "2021-03-02", {}),
    ("text_0", "diabetes mellitus", FactType.PROBLEM, "diabetes mellitus", "absent", None, {}),
    ("text_0", "Chest X-ray", FactType.PROCEDURE, "chest x-ray", "present", "2021-03-02", {}),
    ("text_0", "ceftriaxone", FactType.DRUG, "ceftriaxone", "present", "2021-03-02", {"dose": 2, "unit": "g", "change": "started"}),
    ("text_0", "Paracetamol", FactType.DRUG, "acetaminophen", "present", None, {"dose": 1, "unit": "g"}),
    ("text_1", "amoxicillin", FactType.DRUG, "amoxicillin", "present", "2021-03-06", {"dose": 1, "unit": "g", "change": "started"}),
    ("text_2", "CT of the head", FactType.PROCEDURE, "ct of the head", "present", "2021-04-18", {}),
    ("text_2", "intracranial hemorrhage", FactType.PROBLEM, "intracranial hemorrhage", "absent", None, {}),
]


@pytest.fixture(scope="module")
def qa(tmp_path_factory):
    from agent import ClinicalQA
    from clinqa.workspace import Workspace

    ws = Workspace(tmp_path_factory.mktemp("agentgraph"), extract=False, chunk=False)
    for key, text in NOTES.items():
        note = Note("patient_01", key, text, note_date=dt.date.fromisoformat(DATES[key]))
        ws.store.assign_note_id(note)
        facts = []
        for nk, surface, ftype, name, asr, day, attrs in FACTS:
            if nk != key:
                continue
            s = text.index(surface)
            facts.append(Fact("patient_01", note.note_id, s, s + len(surface), surface, ftype, name,
                              assertion=Assertion(asr), date=dt.date.fromisoformat(day) if day else None,
                              date_kind=DateKind.OCCURRED if day else DateKind.DOCUMENTED, attributes=attrs))
        ws.store.write_note(note, Patient("patient_01"), facts, [])
    q = ClinicalQA(ws, backend="extractive")
    yield q
    q.close()


def test_interval_from_graph_timeline(qa):
    opts = {"A": "14 days", "B": "47 days", "C": "52 days"}
    ans = qa.ask("patient_01", "How many days between the chest X-ray and the CT of the head?", opts)
    assert ans.choice == "B"
    assert any("timeline.interval" in r for r in ans.route)
    iv = [f for f in ans.facts_used if f.kind == "interval"]
    assert iv and iv[0].value["days"] == 47


def test_negated_fact_answers_yes_no(qa):
    ans = qa.ask("patient_01", "Was the patient diagnosed with diabetes mellitus?")
    assert ans.kind == "yesno"
    assert ans.text.startswith("No") and not ans.abstained
    assert "No history of diabetes mellitus" in ans.citations[0].quote
    assert any(f.kind == "fact" and f.assertion == "absent" for f in ans.facts_used)


def test_negation_question_sees_negated_facts(qa):
    opts = {"A": "Pneumonia", "B": "Intracranial hemorrhage", "C": "Fever"}
    ans = qa.ask("patient_01", "Which of these conditions did the patient NOT have?", opts)
    assert ans.kind == "negation"
    assert ans.choice == "B"
    assert any("absence.negated_facts" in r for r in ans.route)  # routed by the intent to the absence family


def test_order_question_is_decided_by_the_timeline(qa):
    opts = {"A": "Amoxicillin", "B": "Ceftriaxone", "C": "Vancomycin"}
    ans = qa.ask("patient_01", "Which antibiotic was started first?", opts)
    assert ans.kind == "order" and ans.choice == "B"
    order = [f for f in ans.facts_used if f.kind == "order"]
    assert order and [i["name"] for i in order[0].value["items"]][0].lower() == "ceftriaxone"
    late = qa.ask("patient_01", "Which antibiotic was started last?", opts)
    assert late.choice == "A"


def test_when_question_answers_with_the_dated_event(qa):
    ans = qa.ask("patient_01", "When was amoxicillin started?")
    assert "2021-03-06" in ans.text
    assert ans.verification.status == "verified"
    assert any("03/06/2021" in c.quote for c in ans.citations)


def test_evidence_runs_the_nodes_the_graph_runs(qa):
    """Evaluation scripts judge forced answers over ``AgentGraph.evidence``: the same family node and computed
    results as the streamed graph."""
    opts = {"A": "14 days", "B": "47 days", "C": "52 days"}
    q = "How many days between the chest X-ray and the CT of the head?"
    s = qa.agent.evidence("patient_01", q, opts)
    assert s["family"] == "timeline" and any(c.kind == "interval" for c in s["computed"])
    ans = qa.ask("patient_01", q, opts)
    assert [c.kind for _, c, _ in s["context"].computed] == [f.kind for f in ans.facts_used if f.kind != "fact"]


@pytest.mark.parametrize("question, kind", [
    ("All of these were given except:", "negation"),
    ("Every one of these drugs was administered, except", "negation"),
    ("Since ibuprofen wasn't controlling her pain, what analgesic was prescribed?", "lookup"),
    ("Without any medication, how does he rate his pain?", "lookup"),
])
def test_an_exception_without_a_wh_word_is_a_negation_question(qa, question, kind):
    s = qa.agent.evidence("patient_01", question, {"A": "Ceftriaxone", "B": "Amoxicillin", "C": "Vancomycin"})
    assert s["analysis"].kind == kind
