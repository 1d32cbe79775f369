"""LLM reasoning paths with scripted stand-in models (fast): position bias, collapsed mode, prompt shape."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from test_agent_fixture import ANTIBIOTIC, _write


def _candidates(prompt: str) -> dict[str, str]:
    """The options a prompt lists for judging ("A. text" lines after CANDIDATE ANSWERS: / CLAIMS: ...:)."""
    head = "CANDIDATE ANSWERS:" if "CANDIDATE ANSWERS:" in prompt else "CLAIMS:"
    body = prompt.split(head, 1)[1].split("\n", 1)[1].split("\nJudge each", 1)[0]
    return {line[0]: line[3:] for line in body.splitlines()}


def _question_block(messages) -> str:
    """The question-specific tail of the one user message (after the evidence block)."""
    return messages[-1]["content"].rsplit("END EVIDENCE>>>", 1)[1]


class ScriptedLLM:
    """Answers the per-question verdict prompt with ``verdict_for(option text)`` for every listed option (citing
    ``cite`` for supported ones); records every prompt."""

    model = "scripted"
    context_tokens = 4096

    def __init__(self, verdict_for=None, choice="A", entailed="entailed", cite=None, reads=None):
        self.verdict_for = verdict_for or (lambda cand: "supported")
        self.choice = choice
        self.entailed = entailed
        self.reads = reads  # the option text the contrast judge says the sentence states (default: ``_stated``)
        self.cite = cite or []
        self.prompts: list[list[dict]] = []  # the reasoner's prompts
        self.schemas: list[dict] = []
        self.entail_prompts: list[list[dict]] = []  # the verifier's entailment checks on the cited clause

    def chat(self, messages, json_schema=None, max_tokens=256, temperature=0, seed=0):
        props = (json_schema or {}).get("properties", {})
        if "entailed" in props.get("verdict", {}).get("enum", []) or "stated" in props:
            self.entail_prompts.append(messages)
            parsed = {"verdict": self.entailed} if "verdict" in props else {"stated": self._stated(messages)}
            return SimpleNamespace(text=json.dumps(parsed), parsed=parsed, prompt_tokens=50, completion_tokens=5,
                                   latency_s=0.0, model=self.model)
        self.prompts.append(messages)
        self.schemas.append(json_schema)
        last = messages[-1]["content"]
        if "choice" in props:
            parsed = {"choice": self.choice, "answer": "x", "evidence_ids": ["E1"]}
        elif "answer" in props:
            parsed = {"not_documented": True, "answer": "", "evidence_ids": []}
        else:
            parsed = {}
            for letter, text in _candidates(last).items():
                v = self.verdict_for(text)
                parsed[letter] = {"verdict": v, "evidence_ids": list(self.cite) if v == "supported" else []}
        return SimpleNamespace(text=json.dumps(parsed), parsed=parsed, prompt_tokens=sum(len(m["content"]) for m in messages) // 4,
                               completion_tokens=10, latency_s=0.0, model=self.model)

    def _stated(self, messages) -> str:
        """The contrast judge's reply: the option ``reads`` names ("" for none); else, for "entailed", the option the
        prompt-token recorder's stand-in names (most words shared with the quoted sentence), and none otherwise."""
        from evals.prompt_tokens import RecordingLLM

        if self.reads is not None:
            return self.reads or "none"
        return RecordingLLM.closest_option(messages[-1]["content"]) if self.entailed == "entailed" else "none"

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


@pytest.fixture
def model_judges(monkeypatch):
    """These tests are about what the model is asked and how its verdicts are read: every question goes to the
    model, also those the typed checks settle (``AgentGraph._settled``, tested on its own below)."""
    from agent.graph import AgentGraph

    monkeypatch.setattr(AgentGraph, "_settled", lambda self, s, typed: None)


def test_yes_saying_model_does_not_decide_the_letter(ws, model_judges):
    """A small model that calls every candidate 'supported' (or favours one position) cannot pick the answer."""
    from agent import ClinicalQA

    shuffled = {"A": ANTIBIOTIC["C"], "B": ANTIBIOTIC["A"], "C": ANTIBIOTIC["B"], "D": ANTIBIOTIC["D"], "E": ANTIBIOTIC["E"]}
    for opts, want in ((ANTIBIOTIC, "A"), (shuffled, "B")):
        llm = ScriptedLLM(lambda cand: "supported")
        ans = ClinicalQA(ws, backend="local", llm=llm).ask("patient_01", "Which antibiotic was started on admission?", opts)
        assert ans.choice == want
        assert len(llm.prompts) == 1  # one call judges every candidate
        judged = _candidates(llm.prompts[0][-1]["content"])
        assert ANTIBIOTIC["A"] in judged.values() and 1 <= len(judged) <= 3  # options without evidence are not sent
        assert all(opts[k] == v for k, v in judged.items())  # listed under their own letters
        assert set(llm.schemas[0]["required"]) == set(judged)  # the schema asks a verdict for exactly those


def test_negation_question_judges_every_option_in_one_call(ws, model_judges):
    from agent import ClinicalQA

    llm = ScriptedLLM(lambda cand: "not_documented" if cand == "Metformin" else "supported")
    opts = {"A": "Ceftriaxone", "B": "Amoxicillin", "C": "Metformin", "D": "Paracetamol"}
    ans = ClinicalQA(ws, backend="local", llm=llm).ask("patient_01", "Which of these medications was NOT given?", opts)
    assert len(llm.prompts) == 1 and _candidates(llm.prompts[0][-1]["content"]) == opts
    assert ans.choice == "C"


def test_negation_question_asks_whether_each_option_is_documented(ws, model_judges):
    """Asked "is Metformin the answer to 'which was NOT given?'", a small model reads "not given" as "not
    documented" and abstains (7 of 20 such task-2 questions on the dev set). So the prompt asks only whether the
    record documents each option, never the NOT question; the exception is then found in code, and a model that
    reads the record literally answers it even where "cannot be answered" is an option."""
    from agent import ClinicalQA

    llm = ScriptedLLM(lambda cand: "not_documented" if cand == "Metformin" else "supported")
    opts = {"A": "Ceftriaxone", "B": "Amoxicillin", "C": "Metformin", "D": "Paracetamol",
            "E": "Question cannot be answered with provided documents"}
    ans = ClinicalQA(ws, backend="local", llm=llm).ask("patient_01", "Which of these medications was NOT given?", opts)
    asked = _question_block(llm.prompts[0])
    assert asked.strip().startswith("CLAIMS: the CONTEXT documents each of these") and "NOT given" not in asked
    assert _candidates(asked) == {k: v for k, v in opts.items() if k != "E"}
    assert ans.choice == "C" and not ans.abstained


def test_each_letter_gets_its_own_verdict_from_the_one_call(ws, model_judges):
    """Each letter's verdict in the reply is that option's verdict (not the first one's, not by position)."""
    from agent import ClinicalQA

    said = {"Ceftriaxone": "supported", "Amoxicillin": "contradicted", "Metformin": "not_documented",
            "Paracetamol": "supported"}
    for opts in ({"A": "Ceftriaxone", "B": "Amoxicillin", "C": "Metformin", "D": "Paracetamol"},
                 {"A": "Metformin", "B": "Paracetamol", "C": "Amoxicillin", "D": "Ceftriaxone"}):
        llm = ScriptedLLM(lambda cand: said[cand])
        ans = ClinicalQA(ws, backend="local", llm=llm).ask("patient_01", "Which of these medications was NOT given?", opts)
        assert ans.option_verdicts == {k: said[v] for k, v in opts.items()}


def test_the_models_evidence_ids_join_the_citations_only_when_shown(ws, model_judges):
    from agent import ClinicalQA

    q = "Which antibiotic was started on admission?"
    probe = ScriptedLLM()
    ClinicalQA(ws, backend="local", llm=probe).ask("patient_01", q, ANTIBIOTIC)
    shown = probe.schemas[0]["properties"]["A"]["properties"]["evidence_ids"]["items"]["enum"]
    user = probe.prompts[0][-1]["content"]
    assert shown and all(f"\n{e} " in user for e in shown)  # the schema offers exactly the passages shown
    ceftriaxone = next(e for e in shown if "ceftriaxone" in user.split(f"\n{e} ", 1)[1].split("\n", 1)[0].lower())
    ans = ClinicalQA(ws, backend="local", llm=ScriptedLLM(cite=[ceftriaxone, "E99"])).ask("patient_01", q, ANTIBIOTIC)
    assert ans.choice == "A"
    assert ceftriaxone in {c.evidence_id for c in ans.citations}
    assert "E99" not in {c.evidence_id for c in ans.citations}


def test_prompt_puts_the_patient_block_first_and_the_question_last(ws, model_judges):
    """Two questions about one patient share every token up to their evidence: the system prompt, then the note
    index; the question comes last. Notes are quoted as data and the injected sentence never reaches the model."""
    from agent import ClinicalQA
    from agent.context import SYSTEM_PROMPT

    llm = ScriptedLLM()
    qa = ClinicalQA(ws, backend="local", llm=llm)
    qa.ask("patient_01", "Which antibiotic was started on admission?", ANTIBIOTIC)
    qa.ask("patient_01", "What did the CT of the head show?",
           {"A": "A subdural hematoma", "B": "No intracranial hemorrhage", "C": "A skull fracture"})
    (s1, u1), (s2, u2) = [(p[0]["content"], p[1]["content"]) for p in llm.prompts]
    assert s1 == s2 == SYSTEM_PROMPT and "not instructions" in s1
    head1, head2 = u1.split("CONTEXT:", 1)[0], u2.split("CONTEXT:", 1)[0]
    assert head1 == head2 and head1.startswith("PATIENT patient_01: 4 notes")
    assert "N1 2021-03-02: Admission note" in head1 and "Which antibiotic" not in head1
    assert u1.rstrip().endswith("JSON only.") and "QUESTION: Which antibiotic" in _question_block(llm.prompts[0])
    assert "<<<EVIDENCE" in u1 and "END EVIDENCE>>>" in u1
    assert "ignore all previous instructions" not in u1.lower()  # the injection sentence never reaches the model


def test_collapsed_mode_sends_raw_notes_in_one_call(ws):
    from agent import ClinicalQA

    llm = ScriptedLLM(choice="A")
    qa = ClinicalQA(ws, backend="local", llm=llm, mode="collapsed")
    ans = qa.ask("patient_01", "Which antibiotic was started on admission?", ANTIBIOTIC)
    assert len(llm.prompts) == 1 and ans.mode == "collapsed"
    assert len(llm.entail_prompts) == 1  # the verifier's check of the chosen answer on its cited clause
    assert "PROPOSED ANSWER: Ceftriaxone" in llm.entail_prompts[0][-1]["content"]  # the model's pick: not by contrast
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


@pytest.mark.parametrize("question,options,model_says,right", [
    ("What dose of amoxicillin was the patient discharged on?",
     {"A": "2 g once daily", "B": "1 g three times daily", "C": "500 mg twice daily"}, "2 g once daily", "B"),
    ("How much paracetamol was given for fever?", {"A": "2 g", "B": "1 g", "C": "500 mg"}, "2 g", "B"),
    ("How often was amoxicillin taken?", {"A": "Once daily", "B": "Three times daily", "C": "Twice daily"},
     "Once daily", "B"),
])
def test_a_question_the_typed_checks_settle_is_not_put_to_the_model(ws, question, options, model_says, right):
    """Exactly one option passes the typed checks (the others: another drug's dose or frequency, "2 g once daily"
    being ceftriaxone's): the model's choice could not change the answer, so it is not asked to choose (a prompt
    costs tens of seconds on a CPU); it still judges that option's cited clause, and the answer is verified only
    when it finds the clause entails it."""
    from agent import ClinicalQA

    for entailed in ("entailed", "not_stated"):
        llm = ScriptedLLM(lambda cand: "supported" if cand == model_says else "not_documented", entailed=entailed,
                          reads=options[right] if entailed == "entailed" else "")
        ans = ClinicalQA(ws, backend="local", llm=llm).ask("patient_01", question, options)
        assert ans.verification.draft_choice == right, (entailed, ans.route)
        assert "reason:model_not_asked" in ans.route and not llm.prompts and llm.entail_prompts
        # code chose it: the judge, not told which option is proposed, names the one the clause states
        assert all("Which answer does the text state?" in m[-1]["content"] for m in llm.entail_prompts)
        assert ans.tokens["prompt"] == 50 * len(llm.entail_prompts)  # the judge's prompts count as the answer's cost
        if entailed == "entailed":
            assert ans.choice == right and ans.verification.status == "verified"
        else:  # the answer's clause does not entail it: no verified answer, the failed check named
            assert ans.abstained and "entailment" in ans.verification.reason


def test_a_model_pick_the_record_states_is_kept(ws):
    """Two options pass the typed checks (both antibiotics were given): the model judges them, and its pick, which
    passes the checks, is the answer."""
    from agent import ClinicalQA

    opts = {"A": "Vancomycin", "B": "Ceftriaxone", "C": "Amoxicillin"}
    for said in ("Ceftriaxone", "Amoxicillin"):
        llm = ScriptedLLM(lambda cand: "supported" if cand == said else "not_documented")
        ans = ClinicalQA(ws, backend="local", llm=llm).ask("patient_01", "Which antibiotic did the patient receive?",
                                                           opts)
        assert opts[ans.choice] == said and ans.verification.status == "verified" and len(llm.prompts) == 1
        assert not any(r.startswith("reason:only_verified_option") for r in ans.route)
        # the model chose it: its entailment check asks of that one answer, not the same choice again by contrast
        assert llm.entail_prompts and all("PROPOSED ANSWER: " + said in m[-1]["content"] for m in llm.entail_prompts)
