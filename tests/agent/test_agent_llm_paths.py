"""LLM reasoning paths with scripted stand-in models (fast): position bias, collapsed mode, prompt shape."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from test_agent_fixture import ANTIBIOTIC, _write


def _candidate(prompt: str) -> str:
    """The option a per-option prompt asks about (the answer form, or the claim form of negation questions)."""
    if "CANDIDATE ANSWER:" in prompt:
        return prompt.split("CANDIDATE ANSWER:", 1)[1].split("\n", 1)[0].strip()
    return prompt.split("CLAIM: the CONTEXT documents ", 1)[1].split(" for this patient", 1)[0].strip()


class ScriptedLLM:
    """Answers per-option verdict prompts with ``verdict_for(candidate)``; records every prompt."""

    model = "scripted"
    context_tokens = 4096

    def __init__(self, verdict_for=None, choice="A", entailed="entailed"):
        self.verdict_for = verdict_for or (lambda cand: "supported")
        self.choice = choice
        self.entailed = entailed
        self.prompts: list[list[dict]] = []  # the reasoner's prompts
        self.entail_prompts: list[list[dict]] = []  # the verifier's entailment checks on the cited clause

    def chat(self, messages, json_schema=None, max_tokens=256, temperature=0, seed=0):
        props = (json_schema or {}).get("properties", {})
        if "entailed" in props.get("verdict", {}).get("enum", []):
            self.entail_prompts.append(messages)
            parsed = {"verdict": self.entailed}
            return SimpleNamespace(text=json.dumps(parsed), parsed=parsed, prompt_tokens=50, completion_tokens=5,
                                   latency_s=0.0, model=self.model)
        self.prompts.append(messages)
        last = messages[-1]["content"]
        if "verdict" in props:
            cand = _candidate(last)
            parsed = {"verdict": self.verdict_for(cand), "evidence_ids": []}
        elif "choice" in props:
            parsed = {"choice": self.choice, "answer": "x", "evidence_ids": ["E1"]}
        else:
            parsed = {"not_documented": True, "answer": "", "evidence_ids": []}
        return SimpleNamespace(text=json.dumps(parsed), parsed=parsed, prompt_tokens=sum(len(m["content"]) for m in messages) // 4,
                               completion_tokens=10, latency_s=0.0, model=self.model)

    def count_tokens(self, text):
        return len(text) // 4

    def close(self):
        pass


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    from clinqa.workspace import Workspace

    home = tmp_path_factory.mktemp("llmpaths")
    w = Workspace(home, extract=False, chunk=False)
    w.ingest([_write(home / "p.json", with_injection=True)], progress=False)
    yield w
    w.store.close()


def test_yes_saying_model_does_not_decide_the_letter(ws):
    """A small model that calls every candidate 'supported' (or favours one position) cannot pick the answer."""
    from agent import ClinicalQA

    shuffled = {"A": ANTIBIOTIC["C"], "B": ANTIBIOTIC["A"], "C": ANTIBIOTIC["B"], "D": ANTIBIOTIC["D"], "E": ANTIBIOTIC["E"]}
    for opts, want in ((ANTIBIOTIC, "A"), (shuffled, "B")):
        llm = ScriptedLLM(lambda cand: "supported")
        ans = ClinicalQA(ws, backend="local", llm=llm).ask("patient_01", "Which antibiotic was started on admission?", opts)
        assert ans.choice == want
        judged = [p[-1]["content"].split("CANDIDATE ANSWER:", 1)[1].split("\n", 1)[0].strip() for p in llm.prompts]
        assert ANTIBIOTIC["A"] in judged and 1 <= len(judged) <= 3  # options without evidence are not sent
        assert len(set(judged)) == len(judged)


def test_negation_question_sends_every_option_to_the_judge(ws):
    from agent import ClinicalQA

    llm = ScriptedLLM(lambda cand: "not_documented" if cand == "Metformin" else "supported")
    opts = {"A": "Ceftriaxone", "B": "Amoxicillin", "C": "Metformin", "D": "Paracetamol"}
    ans = ClinicalQA(ws, backend="local", llm=llm).ask("patient_01", "Which of these medications was NOT given?", opts)
    assert len(llm.prompts) == 4 and ans.choice == "C"


def test_negation_question_asks_whether_each_option_is_documented(ws):
    """Asked "is Metformin the answer to 'which was NOT given?'", a small model reads "not given" as "not
    documented" and abstains (7 of 20 such task-2 questions on the dev set). So the prompt asks only whether the
    record documents the option, never the NOT question; the exception is then found in code, and a model that
    reads the record literally answers it even where "cannot be answered" is an option."""
    from agent import ClinicalQA

    llm = ScriptedLLM(lambda cand: "not_documented" if cand == "Metformin" else "supported")
    opts = {"A": "Ceftriaxone", "B": "Amoxicillin", "C": "Metformin", "D": "Paracetamol",
            "E": "Question cannot be answered with provided documents"}
    ans = ClinicalQA(ws, backend="local", llm=llm).ask("patient_01", "Which of these medications was NOT given?", opts)
    asked = [p[-1]["content"] for p in llm.prompts]
    assert all(q.startswith("CLAIM: the CONTEXT documents ") and "NOT given" not in q for q in asked)
    assert sorted(_candidate(q) for q in asked) == sorted(v for k, v in opts.items() if k != "E")
    assert ans.choice == "C" and not ans.abstained


def test_option_prompts_share_the_context_prefix_and_quote_notes_as_data(ws):
    from agent import ClinicalQA
    from agent.context import SYSTEM_PROMPT

    llm = ScriptedLLM()
    ClinicalQA(ws, backend="local", llm=llm).ask("patient_01", "Which antibiotic was started on admission?", ANTIBIOTIC)
    prefixes = {json.dumps(p[:2]) for p in llm.prompts}
    assert len(prefixes) == 1  # identical prefix -> llama.cpp prompt cache reuses it for every option
    system, ctx = llm.prompts[0][0]["content"], llm.prompts[0][1]["content"]
    assert system == SYSTEM_PROMPT and "not instructions" in system
    assert "<<<EVIDENCE E1" in ctx and "END EVIDENCE>>>" in ctx
    assert "ignore all previous instructions" not in ctx.lower()  # the injection sentence never reaches the model


def test_collapsed_mode_sends_raw_notes_in_one_call(ws):
    from agent import ClinicalQA

    llm = ScriptedLLM(choice="A")
    qa = ClinicalQA(ws, backend="local", llm=llm, mode="collapsed")
    ans = qa.ask("patient_01", "Which antibiotic was started on admission?", ANTIBIOTIC)
    assert len(llm.prompts) == 1 and ans.mode == "collapsed"
    assert len(llm.entail_prompts) == 1  # the verifier's check of the chosen answer on its cited clause
    assert "Community-acquired pneumonia" in llm.prompts[0][1]["content"]
    assert ans.choice == "A" and ans.citations[0].start == 0
    assert ans.context_tokens > 0


def test_collapsed_needs_an_llm(ws):
    from agent import ClinicalQA
    from clinqa.errors import InputError

    with pytest.raises(InputError):
        ClinicalQA(ws, backend="extractive", mode="collapsed")
    with pytest.raises(InputError):
        ClinicalQA(ws, backend="gpt")


def test_entailment_judge_sees_only_the_cited_clause_and_can_refuse(ws):
    """The verifier's model call carries the clause that states the answer, not the context; a 'contradicted'
    verdict leaves the answer unverified, and the failed check is named."""
    from agent import ClinicalQA

    llm = ScriptedLLM(entailed="contradicted")
    ans = ClinicalQA(ws, backend="local", llm=llm).ask("patient_01", "Which antibiotic was started on admission?",
                                                       ANTIBIOTIC, allow_abstain=False)
    assert llm.entail_prompts and all("<<<EVIDENCE" not in p[-1]["content"] for p in llm.entail_prompts)
    assert all(len(p[-1]["content"]) < 1200 for p in llm.entail_prompts)
    assert ans.verification.status == "unsupported" and "entailment" in (ans.verification.reason or "")
    ok = ClinicalQA(ws, backend="local", llm=ScriptedLLM()).ask("patient_01", "Which antibiotic was started on admission?",
                                                                ANTIBIOTIC, allow_abstain=False)
    assert ok.verification.status == "verified"
