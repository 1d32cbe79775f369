"""The verifier's claim checks: each wrong answer of issue 15 is rejected, the right one verified, in several
independent wordings. Contexts are built by hand (no workspace), intents given explicitly so each check is
tested on its own; the last tests run the real rule intent parser end to end."""
from __future__ import annotations

import datetime as dt

import pytest

from agent.context import Context
from agent.records import Intent, IntentEntity
from agent.tools import Passage
from agent.understand import QuestionAnalyzer
from agent.verify import Draft, Verifier


def _ctx(*texts: str) -> tuple[Context, list[str]]:
    ctx = Context("p1")
    ids = [ctx.add_passage(Passage("p1", f"p1/n{i}", 0, len(t), t, None)) for i, t in enumerate(texts)]
    return ctx, ids


def _verify(text: str, question: str, options: dict, answer: str, intent: Intent, verifier: Verifier | None = None):
    ctx, ids = _ctx(text)
    a = QuestionAnalyzer().run(question, options)
    letter = next(k for k, v in options.items() if v == answer)
    return (verifier or Verifier()).run(Draft(answer, letter, ids), ctx, a, intent)


def _failed(v) -> set[str]:
    return {f.check for f in v.findings if f.status in ("unsupported", "contradicted")}


MOTHER = Intent(asked="value", experiencer="family", relative="mother", entities=[IntentEntity(text="mother", type="relative")])
FAMILY_OPTS = {"A": "colon cancer", "B": "Alzheimer's disease", "C": "type 2 diabetes mellitus"}


@pytest.mark.parametrize("text", [
    "Family history: Mother with Alzheimer's disease; Sister with colon cancer.",
    "His mother had Alzheimer's disease, and his sister was treated for colon cancer.",
    "FH: sister - colon cancer; mother - Alzheimer's disease.",
])
def test_relative_binding(text):
    q = "Which condition was diagnosed in the patient's mother?"
    wrong = _verify(text, q, FAMILY_OPTS, "colon cancer", MOTHER)
    assert wrong.status == "unsupported" and "binding" in _failed(wrong)
    right = _verify(text, q, FAMILY_OPTS, "Alzheimer's disease", MOTHER)
    assert right.status == "verified", right.reason


DOSE = Intent(asked="dose", entities=[IntentEntity(text="amlodipine", type="drug")])
DOSE_OPTS = {"A": "500 mg", "B": "5 mg", "C": "10 mg"}


@pytest.mark.parametrize("text", [
    "Medications: metformin 500 mg twice daily, amlodipine 5 mg once daily.",
    "Current meds include amlodipine 5 mg daily and metformin 500 mg BID.",
    "Home medications\nMetformin 500 mg PO BID\nAmlodipine 5 mg PO daily",
])
def test_dose_bound_to_its_drug(text):
    q = "What dose of amlodipine does the patient take?"
    wrong = _verify(text, q, DOSE_OPTS, "500 mg", DOSE)
    assert wrong.status == "unsupported" and _failed(wrong) & {"binding", "value"}
    right = _verify(text, q, DOSE_OPTS, "5 mg", DOSE)
    assert right.status == "verified", right.reason


REPLACED = Intent(asked="value", entities=[IntentEntity(text="lisinopril", type="drug")])
REPL_OPTS = {"A": "lisinopril", "B": "losartan", "C": "amlodipine"}


@pytest.mark.parametrize("text", [
    "Lisinopril was switched to losartan because of a dry cough.",
    "Because of cough, losartan was started in place of lisinopril.",
])
def test_replacement_is_not_the_replaced_drug(text):
    q = "Which drug replaced lisinopril?"
    wrong = _verify(text, q, REPL_OPTS, "lisinopril", REPLACED)
    assert wrong.status == "unsupported"
    right = _verify(text, q, REPL_OPTS, "losartan", REPLACED)
    assert right.status == "verified", right.reason


INHALER = Intent(asked="dose", time_role="initial", entities=[IntentEntity(text="budesonide/formoterol", type="drug")])


@pytest.mark.parametrize("text,right_answer,wrong_answer", [
    ("Budesonide/formoterol 160/4.5 mcg, one inhalation twice daily, was started.",
     "one inhalation twice daily", "two inhalations twice daily"),
    ("Started budesonide/formoterol 160/4.5 mcg 2 puffs BID.", "2 puffs BID", "1 puff BID"),
    ("She began budesonide/formoterol at two inhalations in the morning.", "two inhalations", "three inhalations"),
])
def test_count_words_must_match(text, right_answer, wrong_answer):
    q = "How was budesonide/formoterol dosed when it was started?"
    opts = {"A": right_answer, "B": wrong_answer}
    wrong = _verify(text, q, opts, wrong_answer, INHALER)
    assert wrong.status == "unsupported" and _failed(wrong) & {"count", "value"}
    right = _verify(text, q, opts, right_answer, INHALER)
    assert right.status == "verified", right.reason


@pytest.mark.parametrize("text,drug,role,right,wrong", [
    ("Venlafaxine was increased from 37.5 mg to 75 mg daily.", "venlafaxine", "initial", "37.5 mg", "75 mg"),
    ("Sertraline dose changed from 50 mg to 100 mg at this visit.", "sertraline", "current", "100 mg", "50 mg"),
    ("We reduced prednisone from 40 mg to 20 mg.", "prednisone", "initial", "40 mg", "20 mg"),
])
def test_time_role_of_a_changed_dose(text, drug, role, right, wrong):
    intent = Intent(asked="dose", time_role=role, entities=[IntentEntity(text=drug, type="drug")])
    q = f"What was the {'initial' if role == 'initial' else 'current'} dose of {drug}?"
    opts = {"A": right, "B": wrong}
    bad = _verify(text, q, opts, wrong, intent)
    assert bad.status == "unsupported" and "time_role" in _failed(bad)
    good = _verify(text, q, opts, right, intent)
    assert good.status == "verified", good.reason


STOPPED = Intent(asked="value", entities=[IntentEntity(text="insomnia", type="problem")])
STOP_OPTS = {"A": "montelukast", "B": "budesonide/formoterol", "C": "albuterol"}


@pytest.mark.parametrize("text", [
    "Montelukast was discontinued because of insomnia, and budesonide/formoterol was continued.",
    "Budesonide/formoterol continued; montelukast stopped due to new insomnia.",
])
def test_stop_reason_bound_to_the_stopped_drug(text):
    q = "Which medication was stopped because of insomnia?"
    wrong = _verify(text, q, STOP_OPTS, "budesonide/formoterol", STOPPED)
    assert wrong.status == "unsupported" and "binding" in _failed(wrong)
    right = _verify(text, q, STOP_OPTS, "montelukast", STOPPED)
    assert right.status == "verified", right.reason


def test_negated_or_family_finding_is_not_the_patients():
    intent = Intent(asked="value", entities=[IntentEntity(text="chest x-ray", type="test")])
    opts = {"A": "pneumonia", "B": "pleural effusion"}
    q = "What did the chest x-ray show?"
    v = _verify("Chest x-ray: no pneumonia; small left pleural effusion.", q, opts, "pneumonia", intent)
    assert v.status == "unsupported" and "assertion" in _failed(v)
    ok = _verify("Chest x-ray: no pneumonia; small left pleural effusion.", q, opts, "pleural effusion", intent)
    assert ok.status == "verified", ok.reason
    patient = Intent(asked="value", entities=[])
    fam = _verify("Her father was diagnosed with colon cancer at 60.", "What cancer has been diagnosed?",
                  {"A": "colon cancer", "B": "lung cancer"}, "colon cancer", patient)
    assert fam.status == "unsupported" and "experiencer" in _failed(fam)


def test_answer_that_only_repeats_the_question_cannot_be_verified():
    v = _verify("Losartan 50 mg daily.", "Is losartan documented?", {"A": "losartan", "B": "valsartan"}, "losartan",
                Intent(asked="presence", entities=[IntentEntity(text="losartan", type="drug")]))
    assert v.status == "unsupported" and "could not check" in v.reason


class _Judge:
    """An LLM stand-in returning a fixed parsed object or raising (the transport's failure modes)."""

    def __init__(self, parsed=None, exc=None):
        self.parsed, self.exc, self.calls = parsed, exc, []

    def chat(self, messages, **kw):
        self.calls.append(messages)
        if self.exc:
            raise self.exc
        return type("R", (), {"parsed": self.parsed, "text": ""})()


def test_entailment_on_the_clause_decides_with_an_llm():
    text = "Plan: losartan 50 mg daily was started. Unrelated: the weather was fine."
    args = ("Which drug was started?", {"A": "losartan", "B": "valsartan"}, "losartan",
            Intent(asked="value", entities=[]))
    yes = _Judge({"stated": "losartan"})  # the judge names the option the sentence states, in its words
    assert _verify(text, *args, verifier=Verifier(yes)).status == "verified"
    prompt = yes.calls[0][-1]["content"]
    assert "losartan 50 mg daily was started" in prompt and "weather" not in prompt  # only the sentence goes
    assert "- losartan" in prompt and "- valsartan" in prompt and "PROPOSED" not in prompt  # not told which
    for other in ("valsartan", "none"):  # another option, or none of them: not entailed, the judge's reading named
        no = _verify(text, *args, verifier=Verifier(_Judge({"stated": other})))
        assert no.status == "unsupported" and "entailment" in _failed(no), other
        assert ("stating 'valsartan'" if other == "valsartan" else "none of the options") in no.reason
    broken = _verify(text, *args, verifier=Verifier(_Judge({"stated": "maybe"})))
    assert broken.status == "unsupported" and "no valid verdict" in broken.reason
    timeout = _verify(text, *args, verifier=Verifier(_Judge(exc=TimeoutError("read timed out"))))
    assert timeout.status == "unsupported" and "TimeoutError" in timeout.reason
    off = _verify(text, *args, verifier=Verifier(_Judge(exc=AssertionError("must not be called")), entail=False))
    assert off.status == "verified"
    assert any(f.check == "entailment" and f.status == "skipped" for f in off.findings)


def test_an_open_answer_is_judged_as_one_proposed_claim():
    """No options to contrast: the judge is told the proposed answer and says entailed, contradicted or not stated."""
    ctx, ids = _ctx("Plan: losartan 50 mg daily was started. Unrelated: the weather was fine.")
    a = QuestionAnalyzer().run("What dose of losartan was started?", None)
    intent = Intent(asked="dose", entities=[IntentEntity(text="losartan", type="drug")])
    for verdict, status in (("entailed", "verified"), ("contradicted", "unsupported"), ("not_stated", "unsupported")):
        judge = _Judge({"verdict": verdict})
        v = Verifier(judge).run(Draft("50 mg daily", None, ids), ctx, a, intent)
        assert v.status == status, (verdict, v.reason)
        assert "PROPOSED ANSWER: 50 mg daily" in judge.calls[0][-1]["content"]


def test_absence_claims_look_at_every_option():
    ctx, ids = _ctx("Letrozole 2.5 mg daily was started.", "Zoledronic acid was given in March.",
                    "She did not receive denosumab.")
    a = QuestionAnalyzer().run("Which medication was NOT given?",
                               {"A": "letrozole", "B": "zoledronic acid", "C": "denosumab"})
    intent = Intent(asked="value", negated=True)
    assert Verifier().run(Draft("denosumab", "C", ids), ctx, a, intent).status == "verified"
    wrong = Verifier().run(Draft("letrozole", "A", ids), ctx, a, intent)
    assert wrong.status == "unsupported" and "absence" in _failed(wrong)


def test_rule_intent_end_to_end_rejects_the_sisters_diagnosis():
    """No intent given: the verifier parses the question itself (rules) and still binds to the mother."""
    ctx, ids = _ctx("Family history: Sister with systemic lupus erythematosus; Mother with breast cancer.")
    opts = {"A": "systemic lupus erythematosus", "B": "breast cancer", "C": "asthma"}
    a = QuestionAnalyzer().run("What was the patient's mother diagnosed with?", opts)
    assert Verifier().run(Draft(opts["A"], "A", ids), ctx, a).status == "unsupported"
    assert Verifier().run(Draft(opts["B"], "B", ids), ctx, a).status == "verified"


@pytest.mark.parametrize("wrong_text,right_text", [
    ("Creatinine 2.1 mg/dL.", "Creatinine 1.4 mg/dL."),  # dated by the note
    ("On 2021-05-01 the creatinine was 2.1 mg/dL.", "Creatinine measured 2021-03-04: 1.4 mg/dL."),  # dated in text
])
def test_a_value_asked_on_a_date_comes_from_a_clause_of_that_date(wrong_text, right_text):
    import datetime as dt

    ctx = Context("p1")
    e_wrong = ctx.add_passage(Passage("p1", "p1/late", 0, len(wrong_text), wrong_text, dt.date(2021, 5, 1)))
    e_right = ctx.add_passage(Passage("p1", "p1/early", 0, len(right_text), right_text, dt.date(2021, 3, 4)))
    opts = {"A": "2.1 mg/dL", "B": "1.4 mg/dL"}
    a = QuestionAnalyzer().run("What was the creatinine on 2021-03-04?", opts)
    intent = Intent(asked="test_result", time_role="on_date", anchor="2021-03-04",
                    entities=[IntentEntity(text="creatinine", type="test")])
    bad = Verifier().run(Draft("2.1 mg/dL", "A", [e_wrong]), ctx, a, intent)
    assert bad.status == "unsupported" and "time_anchor" in _failed(bad)
    assert Verifier().run(Draft("1.4 mg/dL", "B", [e_right]), ctx, a, intent).status == "verified"


@pytest.mark.parametrize("texts,question,options,right,wrong", [
    (("[doctor] any chest pain or fever ?", "[patient] no chest pain. I did have a fever last week."),
     "Which symptom did the patient deny?", {"A": "chest pain", "B": "fever"}, "chest pain", "fever"),
    (("[doctor] okay so have you noticed any nausea or vomiting", "[patient] some nausea but no vomiting"),
     "Which of the following did the patient deny?", {"A": "nausea", "B": "vomiting"}, "vomiting", "nausea"),
    (("Radiation was completed in May.", "Endocrine therapy was offered but the patient declined."),
     "Which treatment has she NOT received?", {"A": "radiation", "B": "endocrine therapy"}, "endocrine therapy", "radiation"),
    (("Ulceration: not identified.", "Mitotic figures: present."),
     "Which feature was NOT identified on pathology?", {"A": "ulceration", "B": "mitotic figures"}, "ulceration",
     "mitotic figures"),
])
def test_absence_reads_questions_and_late_negations(texts, question, options, right, wrong):
    """A clinician's question ("any chest pain?") asserts nothing; a negation after the mention ("offered but
    declined", "X: not identified") undoes it."""
    ctx, ids = _ctx(*texts)
    a = QuestionAnalyzer().run(question, options)
    intent = Intent(asked="value", negated=True)
    letter = {v: k for k, v in options.items()}
    ok = Verifier().run(Draft(right, letter[right], ids), ctx, a, intent)
    assert ok.status == "verified", ok.reason
    bad = Verifier().run(Draft(wrong, letter[wrong], ids), ctx, a, intent)
    assert bad.status == "unsupported" and "absence" in _failed(bad)


def test_composite_answer_holds_only_when_every_part_does():
    ctx, ids = _ctx("Prednisolone 15 mg daily was continued on admission.", "In March the prednisolone dose was 2.5 mg daily.")
    q = "What prednisolone dose was she on at admission, and what dose is listed in March?"
    opts = {"A": "15 mg daily at admission; 2.5 mg daily in March", "B": "15 mg daily at admission; 5 mg daily in March"}
    a = QuestionAnalyzer().run(q, opts)
    intent = Intent(asked="dose", entities=[IntentEntity(text="prednisolone", type="drug")])
    assert Verifier().run(Draft(opts["A"], "A", ids), ctx, a, intent).status == "verified"
    bad = Verifier().run(Draft(opts["B"], "B", ids), ctx, a, intent)
    assert bad.status == "unsupported" and "5 mg daily in March" in bad.reason


HCQ = Intent(asked="reason", entities=[IntentEntity(text="hydroxychloroquine", type="drug")])


@pytest.mark.parametrize("text, right, wrong", [
    ("Hydroxychloroquine whole-blood level 910 ng/mL, within the target range.",
     "The hydroxychloroquine level was within the target range", "The hydroxychloroquine level was above the target range"),
    ("Hydroxychloroquine was reduced because of a high whole-blood level at screening.",
     "A high hydroxychloroquine whole-blood level at screening", "A low hydroxychloroquine whole-blood level at screening"),
    ("Hydroxychloroquine retinal screening: OCT of the left eye abnormal.",
     "An abnormal OCT of the left eye", "An abnormal OCT of the right eye"),
])
def test_a_value_word_against_its_opposite_in_the_clause(text, right, wrong):
    q = "What did the hydroxychloroquine monitoring show?"
    opts = {"A": right, "B": wrong, "C": "No monitoring was done"}  # the options share few words: each is checked whole
    bad = _verify(text, q, opts, wrong, HCQ)
    assert bad.status == "unsupported" and "contrast" in _failed(bad)
    assert "contrast" not in _failed(_verify(text, q, opts, right, HCQ))


@pytest.mark.parametrize("text, question, right, wrong", [
    ("X-rays: extra-articular distal radius fracture; dorsal angulation of the distal fragment.",
     "What other finding did the wrist x-rays show?", "Dorsal angulation of the distal fragment",
     "Volar angulation of the distal fragment"),
    ("MRI knee: complex tear of the posterior horn of the medial meniscus.", "What did the knee MRI show?",
     "A tear of the posterior horn of the medial meniscus", "A tear of the posterior horn of the lateral meniscus"),
    ("ECG: ST elevation in the anterior leads, consistent with an anterior wall infarct.", "What did the ECG show?",
     "ST elevation in the anterior leads", "ST elevation in the posterior leads"),
])
def test_an_anatomical_direction_against_its_opposite_in_the_clause(text, question, right, wrong):
    intent = Intent(asked="test_result", entities=[])
    opts = {"A": right, "B": wrong, "C": "No abnormality"}
    bad = _verify(text, question, opts, wrong, intent)
    assert bad.status == "unsupported" and "contrast" in _failed(bad), bad.findings
    assert "contrast" not in _failed(_verify(text, question, opts, right, intent))


PULSE = Intent(asked="dose", entities=[IntentEntity(text="methylprednisolone", type="drug")])


@pytest.mark.parametrize("question", [
    "What total dose of methylprednisolone did the pulses deliver?",
    "How much methylprednisolone was given altogether?",
    "What was the cumulative methylprednisolone dose?",
])
def test_a_total_is_not_one_clauses_value(question):
    opts = {"A": "500 mg", "B": "1,500 mg"}
    single = _verify("Methylprednisolone 500 mg IV was given daily for three days.", question, opts, "500 mg", PULSE)
    assert single.status == "unsupported" and "total" in _failed(single)
    stated = _verify("Methylprednisolone pulses, 1,500 mg in total over three days.", question, opts, "1,500 mg", PULSE)
    assert "total" not in _failed(stated)


PROZAC = Intent(asked="dose", time_role="current", entities=[IntentEntity(text="fluoxetine", type="drug")])


@pytest.mark.parametrize("text, right, wrong", [
    ("She was previously doing well on fluoxetine 20 mg once daily but feels she needs a higher dose; we will "
     "start 40 mg daily.", "40 mg", "20 mg"),
    ("Fluoxetine: used to take 10 mg; now takes 20 mg daily.", "20 mg", "10 mg"),
    ("Fluoxetine was increased from 20 mg previously to 40 mg daily.", "40 mg", "20 mg"),
])
def test_a_current_value_is_not_one_the_clause_puts_in_the_past(text, right, wrong):
    q = "Fluoxetine was increased to what daily dose?"
    opts = {"A": right, "B": wrong}
    assert _verify(text, q, opts, wrong, PROZAC).status == "unsupported"
    assert "time_role" not in _failed(_verify(text, q, opts, right, PROZAC))


@pytest.mark.parametrize("text, question, right, wrong", [
    ("We will continue him on metformin 1000 mg twice a day. We will start Flomax 0.4 mg once daily at night.",
     "What was started at this visit for his difficulty urinating?", "Flomax 0.4 mg once daily", "Metformin 1000 mg twice a day"),
    ("She remains on albuterol as needed. Symbicort 2 puffs twice a day was newly added for the summer.",
     "Which asthma medication was newly added?", "Symbicort 2 puffs twice a day", "Albuterol as needed"),
    ("Lisinopril was discontinued. Continue amlodipine 5 mg daily.",
     "Which antihypertensive was stopped?", "Lisinopril", "Amlodipine 5 mg daily"),
])
def test_a_started_or_stopped_drug_is_not_one_its_sentence_continues(text, question, right, wrong):
    from agent.intent import IntentParser

    opts = {"A": right, "B": wrong}
    intent = IntentParser().run(question, opts)
    assert "time_role" in _failed(_verify(text, question, opts, wrong, intent))
    assert "time_role" not in _failed(_verify(text, question, opts, right, intent))


_FILLER = "Blood pressure was 128/76.\nLungs clear.\nAbdomen soft.\n"


@pytest.mark.parametrize("texts", [
    ("Clinic note\nShe had an episode of gout of her right big toe about 2 months ago.\n" + _FILLER +
     "Her last bowel movement was 2 days ago.\n" + _FILLER + "It has been about 6 months since her last visit.\n",),
    ("Clinic note\nLast seen here about 6 months ago.\n" + _FILLER + "Bowel movements: last one 2 days ago.\n" +
     _FILLER + "Gout: flare in the right great toe about 2 months ago, settled with colchicine.\n",),
    ("Clinic note\nBowel habits normal; last BM 2 days ago.\n",
     "Follow-up note\nAbout 6 months since the last review.\n" + _FILLER +
     "Reports a gout attack of the right toe 2 months ago.\n"),
])
def test_a_value_from_a_clause_that_does_not_name_the_subject_loses_to_the_subjects_own_sentence(notes_qa, texts):
    """A duration in a sentence about something else is not the subject's, even when no other entity competes in
    that sentence: the record's sentence that names the subject states another option."""
    from clinqa.records import Patient

    notes = {f"g{i}": (f"2021-0{i + 3}-01", t) for i, t in enumerate(texts)}
    qa = notes_qa(Patient("pg", "Anna Mitchell", "1977-01-01"), notes)
    opts = {"A": "About 6 months ago", "B": "About 2 days ago", "C": "About 2 months ago"}
    ans = qa.ask("pg", "About how long ago was her gout attack in the right great toe?", options=opts)
    assert [k for k, v in ans.option_checks.items() if v == "verified"] == ["C"], ans.option_checks


@pytest.mark.parametrize("text,answer", [
    ("[patient] probably exercising more to get rid of the covid 15 .",
     "To lose the weight she put on during COVID (the COVID 15)"),
    ("Assessment: right hip DJD. She is not keen on a cane but will give it a try.",
     "She did not love the idea of a cane but agreed to try it"),
    ("Plan: we could get a breast specialist on the team and keep following the cysts closely.",
     "Watch the cysts and refer to a specialist"),
])
def test_a_paraphrase_is_judged_by_the_model_on_its_best_clause(text, answer):
    """An answer in other words than the record's: only the model's entailment on that clause can verify it; the
    extractive backend (no model) leaves it unverified."""
    args = ("What did the patient say?", {"A": answer, "B": "Something else entirely different"}, answer,
            Intent(asked="value", entities=[]))
    yes = _Judge({"stated": answer})
    assert _verify(text, *args, verifier=Verifier(yes)).status == "verified"
    assert len(yes.calls) == 1 and "Which answer does the text state?" in yes.calls[0][-1]["content"]
    assert _verify(text, *args, verifier=Verifier(_Judge({"stated": "none"}))).status == "unsupported"
    assert _verify(text, *args).status == "unsupported"  # typed checks only: not stated word for word


@pytest.mark.parametrize("text", [
    "If endoscopic therapy fails, transarterial embolization by interventional radiology.",
    "Should the bleeding recur, transarterial embolization would be arranged.",
    "In case of rebleeding, transarterial embolization is the next step.",
])
def test_a_contingency_does_not_answer_what_happened_but_answers_the_plan(text):
    opts = {"A": "transarterial embolization", "B": "epinephrine injection and hemoclips", "C": "surgery"}
    intent = Intent(asked="value", entities=[IntentEntity(text="hemostasis", type="procedure")])
    happened = _verify(text, "How was hemostasis achieved at the endoscopy?", opts, "transarterial embolization", intent)
    assert happened.status == "unsupported" and "assertion" in _failed(happened), happened.reason
    plan = _verify(text, "What is the plan if the bleeding cannot be controlled endoscopically?", opts,
                   "transarterial embolization", intent)
    assert "assertion" not in _failed(plan), plan.reason


@pytest.mark.parametrize("text,old,new", [
    ('In our letter of 21.02.2023 the onset of arthralgia was given as "approximately November 2022"; it was '
     'first documented on August 17, 2022.', "approximately November 2022", "August 17, 2022"),
    ('The diagnosis "type 2 diabetes mellitus" in our letter of 06.03.2024 is hereby corrected to: '
     'glucocorticoid-induced hyperglycemia.', "type 2 diabetes mellitus", "glucocorticoid-induced hyperglycemia"),
    ("The allergy was erroneously recorded as penicillin; the patient's documented allergy is sulfonamides.",
     "penicillin", "sulfonamides"),
])
def test_a_value_the_sentence_reports_as_corrected_is_not_the_answer(text, old, new):
    opts = {"A": old, "B": new, "C": "something unrelated"}
    intent = Intent(asked="value", entities=[])
    q = "According to the corrected record, what is documented?"
    wrong = _verify(text, q, opts, old, intent)
    assert wrong.status == "unsupported" and "time_role" in _failed(wrong), wrong.reason
    right = _verify(text, q, opts, new, intent)
    assert "time_role" not in _failed(right), right.reason
    asked_old = _verify(text, "What was originally documented, before the correction?", opts, old, intent)
    assert "time_role" not in _failed(asked_old), asked_old.reason


@pytest.mark.parametrize("given", [
    "Induction was started with methylprednisolone 500 mg IV once daily on three consecutive days.",
    "She received three IV methylprednisolone doses of 500 mg each.",
    "Methylprednisolone was given intravenously, 500 mg per day for 3 days.",
])
def test_a_paraphrased_given_treatment_is_no_absence(notes_qa, given):
    """'Methylprednisolone pulses' is not stated in those words, but the record gives methylprednisolone: the
    option cannot be verified as the treatment never given."""
    from clinqa.records import Patient

    notes = {"a0": ("2023-02-14", "Discharge letter\n" + given + "\nMycophenolate mofetil 500 mg twice daily was "
                                  "started.\nHydroxychloroquine 200 mg twice daily was started.\n")}
    qa = notes_qa(Patient("pm", "Ann Brand", "1995-01-01"), notes)
    opts = {"A": "Methylprednisolone pulses", "B": "Mycophenolate mofetil", "C": "Hydroxychloroquine",
            "D": "Rituximab"}
    ans = qa.ask("pm", "Which treatment was never given to the patient?", options=opts)
    assert ans.option_checks["A"] != "verified", ans.option_checks
    assert ans.option_checks["B"] != "verified" and ans.option_checks["C"] != "verified"


@pytest.mark.parametrize("texts", [
    ("Long-term azithromycin was considered but not started because of the prolonged QTc interval.",
     "Bupropion is contraindicated because of a prior seizure.", "Varenicline 1 mg twice daily was started."),
    ("Azithromycin prophylaxis: not started (prolonged QTc interval).",
     "Bupropion was ruled out given his seizure history.", "He takes varenicline 1 mg twice daily."),
])
def test_an_absence_needs_the_options_drug_in_the_negated_sentence(notes_qa, texts):
    """A negated sentence about another drug with the same reason does not make the option's drug the one ruled
    out, and a drug the record gives is no absence."""
    from clinqa.records import Patient

    notes = {f"s{i}": (f"2024-0{i + 1}-10", "Clinic note\n" + t + "\n") for i, t in enumerate(texts)}
    qa = notes_qa(Patient("ps", "Rei Mar", "1958-01-01"), notes)
    opts = {"A": "Varenicline, because of the prolonged QTc interval", "B": "Bupropion, because of a prior seizure",
            "C": "Nicotine patch, because of skin irritation"}
    ans = qa.ask("ps", "Which smoking-cessation drug was ruled out, and why?", options=opts)
    assert ans.option_checks["A"] != "verified", ans.option_checks


@pytest.mark.parametrize("text,answer,states", [
    ("Vitals: T 37.4 °C, BP 162/98 mmHg, HR 96.", "162/98 mmHg", True),
    ("Blood pressure was 162/98 on arrival.", "162/98 mmHg", True),
    ("On exam I hear a three out of six systolic ejection murmur.", "3/6", True),
    ("Grade 2/6 systolic murmur, stable.", "3/6", False),
    ("Fluticasone furoate/umeclidinium/vilanterol 92/55/22 µg, one inhalation daily.",
     "Fluticasone furoate/vilanterol 92/22 µg, one inhalation daily", False),
    ("BP 162/98, HR 96.", "98/96", False),
    # a group written with a ratio word in the answer is the record's slash group, and the other way round
    ("Now he rates them at about 6/10.", "About 6 out of 10", True),
    ("Pain is 7/10 today, was 4/10 last week.", "6 out of 10", False),
    ("Her blood pressure today was 150/70.", "150 over 70", True),
    ("your blood pressure was a little bit high it was one fifty over seventy", "150/70", True),
    ("blood pressure one hundred and ten over seventy on arrival", "110/70 mmHg", True),
    ("blood pressure one fifty over seventy", "170/100", False),
])
def test_a_slash_group_is_one_value(text, answer, states):
    """A blood pressure or a combination's strengths is one value: all its numbers, in its order, in one group
    (or written out in a row); a part of another group does not state it."""
    from agent.claims import build_claim, locate

    claim = build_claim("What was the value?", answer, Intent(asked="value"))
    loc = locate(claim, text)
    assert (loc is not None and loc.coverage >= 0.6) is states


@pytest.mark.parametrize("text,answer,states", [
    ("i do think that you have a tension type headache", "Tension-type headache", True),
    ("Imaging shows a well circumscribed lesion.", "A well-circumscribed lesion", True),
    ("He is a non smoker since 2010.", "Non-smoker", True),
    ("She had a cluster headache.", "Tension-type headache", False),
    ("a type of headache with tension in the neck", "Tension-type headache", False),
    ("He is a former smoker.", "Non-smoker", False),
])
def test_a_hyphenated_answer_word_is_stated_by_its_parts_in_order(text, answer, states):
    """One text writes "tension-type", another "tension type": the parts in that order state the word; the parts
    scattered over the clause do not."""
    from agent.claims import build_claim, locate

    claim = build_claim("Which finding was documented?", answer, Intent(asked="value"))
    loc = locate(claim, text)
    assert (loc is not None and loc.coverage >= 0.6) is states


@pytest.mark.parametrize("text,question,answer,replacement", [
    ("Lisinopril 10 mg daily was switched to losartan 50 mg daily.", "Which drug replaced lisinopril?",
     "Lisinopril 10 mg daily", "Losartan 50 mg daily"),
    ("Because of the cough we stopped lisinopril 20 mg and started losartan 25 mg.", "What was lisinopril switched to?",
     "lisinopril 20 mg", "losartan 25 mg"),
    ("Losartan was begun in place of lisinopril after the cough.",
     "Which agent was used instead of lisinopril after the cough?", "Lisinopril", "Losartan"),
])
def test_the_replaced_drug_is_not_its_replacement_in_any_dose(text, question, answer, replacement):
    from agent.intent import shared_parser

    opts = {"A": answer, "B": replacement}
    intent = shared_parser().run(question, opts)
    assert "replace" in intent.relations
    wrong = _verify(text, question, opts, answer, intent)
    assert "binding" in _failed(wrong), wrong.reason
    right = _verify(text, question, opts, replacement, intent)
    assert right.status == "verified", right.reason


@pytest.mark.parametrize("question", [
    "What was her BP when she arrived in the ED in February 2023?",
    "Which blood pressure was recorded at the February 2023 admission?",
    "In 02/2023, what blood pressure did the emergency team measure?",
])
def test_a_value_asked_in_a_month_comes_from_a_note_of_that_month(question):
    import datetime as dt

    ctx = Context("p1")
    late = "Examination: BP 118/74 mmHg, HR 72/min."
    early = "Vitals: BP 162/98 mmHg, HR 96."
    e_late = ctx.add_passage(Passage("p1", "p1/visit", 0, len(late), late, dt.date(2024, 3, 12)))
    e_early = ctx.add_passage(Passage("p1", "p1/ed", 0, len(early), early, dt.date(2023, 2, 9)))
    opts = {"A": "118/74 mmHg", "B": "162/98 mmHg"}
    a = QuestionAnalyzer().run(question, opts)
    intent = Intent(asked="test_result", time_role="on_date", entities=[IntentEntity(text="BP", type="test")])
    bad = Verifier().run(Draft(opts["A"], "A", [e_late]), ctx, a, intent)
    assert "time_anchor" in _failed(bad), bad.reason
    assert Verifier().run(Draft(opts["B"], "B", [e_early]), ctx, a, intent).status == "verified"


@pytest.mark.parametrize("question,subject", [
    ("How long ago was the rotator cuff repair?", ["rotator cuff repair"]),
    ("For how long was he told to hold off on pottery?", ["hold off", "pottery"]),
    ("How long has Brian been feeling fatigued and lightheaded?", ["fatigued", "lightheaded"]),
    ("How long was Ms. Thompson told to stay away from the gym?", ["stay away", "gym"]),
    ("What did the doctor say about the tattoo removal?", ["tattoo removal"]),
    ("Which exercise was he switched to for the bad shoulder?", ["bad shoulder"]),
])
def test_a_question_without_a_typed_entity_binds_to_its_own_words(question, subject):
    """No dictionary entity: the words that name the topic (not the question's frame, a name or the anchor) are
    the subject, and they can only contradict (a topic the note words differently is no failure)."""
    from agent.claims import build_claim
    from agent.intent import shared_parser

    claim = build_claim(question, "about 3 weeks", shared_parser().run(question, None))
    assert claim.subject == subject and claim.topic_only


@pytest.mark.parametrize("texts", [
    ("[doctor] and your blood pressure, we were struggling with it six months ago.",
     "The patient had his rotator cuff repaired about 8 months ago."),
    ("Bowel movements last 6 months have been normal.",
     "Rotator cuff repair was done roughly 8 months ago by Dr. Lee."),
])
def test_a_topic_sentence_stating_another_option_rejects_the_stray_value(notes_qa, texts):
    from clinqa.records import Patient

    notes = {f"r{i}": (f"2021-0{i + 3}-01", t) for i, t in enumerate(texts)}
    qa = notes_qa(Patient("pr", "Ray Moss", "1970-01-01"), notes)
    opts = {"A": "About 6 months ago", "B": "About 8 months ago", "C": "About two years ago"}
    ans = qa.ask("pr", "How long ago was the rotator cuff repair?", options=opts)
    assert ans.option_checks["A"] != "verified" and ans.option_checks["B"] == "verified", ans.option_checks


def test_a_yes_or_no_option_is_no_rival_value():
    """A yes/no option repeats the question's words: a sentence that names the subject does not 'state' it."""
    from agent.verify import Verifier as V

    a = QuestionAnalyzer().run("Has he been bitten by ticks before?",
                               {"A": "No, this is his first tick bite ever", "B": "Yes, many tick bites as a boy"})
    from agent.claims import build_claim
    from agent.intent import shared_parser

    claim = build_claim(a.question, a.real_options["B"], shared_parser().run(a.question, None))
    assert V()._rival_in(claim, "[doctor] have you ever had a tick bite before", a) is None


@pytest.mark.parametrize("text", [
    "Lisinopril was switched to losartan 50 mg once daily because of the cough.",
    "Losartan was started in place of lisinopril after the cough.",
    "Lisinopril was replaced by losartan (cough).",
    "Because of cough, losartan replaced lisinopril.",
])
@pytest.mark.parametrize("question,asks_new", [
    ("Which drug replaced the medication that caused the dry cough?", True),
    ("What was the cough-causing medication switched to?", True),
    ("Which drug was replaced by losartan?", False),
])
def test_a_switch_keeps_its_direction(text, question, asks_new):
    """The answer must be on the side of its clause's switch that the question asks (the new drug, or the old)."""
    from agent.intent import shared_parser

    opts = {"A": "lisinopril", "B": "losartan"}
    intent = shared_parser().run(question, opts)
    new, old = ("losartan", "lisinopril") if asks_new else ("lisinopril", "losartan")
    wrong = _verify(text, question, opts, old, intent)
    assert "binding" in _failed(wrong), wrong.reason
    assert _verify(text, question, opts, new, intent).status == "verified"


@pytest.mark.parametrize("text,answer,states", [
    ("HR: 98.", "98 beats per minute", True),
    ("Pulse 98 bpm, regular.", "98 beats per minute", True),
    ("Respiratory rate: 20 breaths per minute.", "20 breaths/min", True),
    ("EF 35 on the echo.", "35%", True),
    ("Take 10 tablets.", "10 days", False),  # a duration's unit must be written
    ("She had three episodes.", "3 mg", False),
    ("BP: 130/68.", "68 beats per minute", False),  # a number of a slash group is the group's
    ("Blood pressure 130/68 mmHg", "130 mmHg", False),
    ("Russell is a 45 -year-old male with CAD.", "45%", False),  # an age is no bare number
    ("She is a 35-year-old woman.", "35%", False),
])
def test_a_vital_sign_unit_the_record_leaves_out_still_states_the_value(text, answer, states):
    from agent.claims import build_claim, locate

    claim = build_claim("What was the value?", answer, Intent(asked="value"))
    loc = locate(claim, text)
    assert (loc is not None and loc.coverage >= 0.6) is states


@pytest.mark.parametrize("subject,head", [("HbA1c", "hemoglobin A1c"), ("HTN", "hypertension"),
                                          ("BP", "blood pressure")])
def test_a_dictionary_synonym_is_the_same_entity_not_a_competitor(subject, head):
    assert Verifier()._same("p1", head, [subject])


@pytest.mark.parametrize("texts", [
    ("Past medical history:\n- Type 2 diabetes mellitus, diagnosed 2015.\n- Hypertension.",
     "Family history: Mother with Alzheimer's disease."),
    ("She takes metformin for her type 2 diabetes mellitus.", "FH: mother - Alzheimer's disease; father - MI at 60."),
    ("Assessment: type 2 diabetes mellitus, well controlled.", "Her mother had Alzheimer's disease."),
])
def test_a_relatives_condition_must_be_stated_of_that_relative(texts):
    """The patient's own diagnosis, in a sentence that names no relative, is not the mother's."""
    ctx, ids = _ctx(*texts)
    opts = {"A": "type 2 diabetes mellitus", "B": "Alzheimer's disease"}
    a = QuestionAnalyzer().run("Which condition was diagnosed in the patient's mother?", opts)
    wrong = Verifier().run(Draft(opts["A"], "A", [ids[0]]), ctx, a, MOTHER)
    assert "binding" in _failed(wrong), wrong.reason
    assert Verifier().run(Draft(opts["B"], "B", [ids[1]]), ctx, a, MOTHER).status == "verified"


@pytest.mark.parametrize("header", ["Date: 05/16/2024", "Letter dated 2024-05-16.", "Printed on 16.05.2024 by the ward clerk."])
def test_a_date_must_be_stated_of_the_subjects_event(header):
    """A letterhead's date verifies no event; the sentence that dates the revision does."""
    ctx, ids = _ctx(header, "The diagnosis of type 2 diabetes mellitus was formally revised on 2024-05-21.")
    opts = {"A": "May 16, 2024", "B": "May 21, 2024"}
    q = "On what date was the earlier diabetes diagnosis formally revised?"
    a = QuestionAnalyzer().run(q, opts)
    intent = Intent(asked="date", entities=[IntentEntity(text="diabetes", type="problem")])
    wrong = Verifier().run(Draft(opts["A"], "A", [ids[0]]), ctx, a, intent)
    assert "binding" in _failed(wrong), wrong.reason
    assert Verifier().run(Draft(opts["B"], "B", [ids[1]]), ctx, a, intent).status == "verified"


@pytest.mark.parametrize("texts,question", [
    (("Admission 16.02.2024: upper GI bleed from a duodenal ulcer. He had been taking OTC ibuprofen 400 mg three "
      "times daily for three weeks.", "Follow-up: in July 2024 he took naproxen from his wife's supply for knee pain."),
     "Which painkiller had he been taking in the weeks before the GI bleed?"),
    (("Seen 2024-02-16 with an upper GI bleed; for the preceding weeks he had used ibuprofen 400 mg tid bought OTC.",
      "Review 08/20/2024: naproxen taken on two days in July 2024 after a hike."),
     "Before his GI bleed, which over-the-counter analgesic was he using?"),
])
def test_a_clause_dated_after_the_anchor_event_does_not_answer_a_before_question(notes_qa, texts, question):
    from clinqa.records import Patient

    notes = {f"b{i}": (day, t) for i, (day, t) in enumerate(zip(("2024-02-17", "2024-08-20"), texts))}
    qa = notes_qa(Patient("pb", "Otto Berg", "1960-01-01"), notes)
    opts = {"A": "Naproxen", "B": "Ibuprofen 400 mg three times daily"}
    ans = qa.ask("pb", question, options=opts)
    assert ans.option_checks["A"] != "verified", ans.option_checks


@pytest.mark.parametrize("phrase,frame", [("total", True), ("in total", True), ("placed", True),
                                          ("total protein", False), ("rubber bands", False), ("EVL sessions", False)])
def test_a_phrase_of_question_frame_words_names_nothing(phrase, frame):
    """'How many rubber bands were placed in total': 'total' must not be looked up as a concept (total protein)."""
    from agent.claims import is_frame_phrase

    assert is_frame_phrase(phrase) is frame


@pytest.mark.parametrize("text,answer", [
    ("looking at your labs, your white blood cell count is not elevated, which is good.",
     "His white blood cell count is persistently elevated"),
    ("The creatinine was never raised during the stay.", "The creatinine was raised during the stay"),
    ("She did not take the prednisone as prescribed.", "She takes the prednisone as prescribed"),
])
def test_a_negation_inside_the_stated_value_contradicts_a_positive_answer(text, answer):
    """The negation sits between the value's own words ("count is not elevated"): a classifier reading the whole
    span as one target sees it as present; the answer that states it positive is contradicted."""
    ctx, ids = _ctx(text)
    opts = {"A": answer, "B": "Something else entirely different"}
    a = QuestionAnalyzer().run("What did the doctor say?", opts)
    v = Verifier().run(Draft(answer, "A", ids), ctx, a, Intent(asked="value"))
    assert "assertion" in _failed(v), v.reason


def test_an_answers_words_must_be_stated_together_not_picked_from_a_long_turn():
    """'Headache from a brain bleed' is not stated by a long turn that says 'brain' at its start and 'bleed' thirty
    words later; the same words together are."""
    from agent.claims import build_claim, locate

    claim = build_claim("What type of headache does the physician believe she has?", "Headache from a brain bleed",
                        Intent(asked="value"))
    far = ("[doctor] so we looked at your brain scan today and it is fine , you took some tylenol on friday and it went "
           "away for a while and then it came back on sunday and your exam is reassuring , and your gums bleed a little")
    near = "The CT shows a small brain bleed, which explains the headache."
    assert (locate(claim, far) is None) or locate(claim, far).coverage < 0.6
    assert locate(claim, near).coverage >= 0.6


@pytest.mark.parametrize("text", [
    "[doctor] okay so you think it's been going on longer okay now how about have you had any burning when you urinate\n"
    "[patient] no it doesn't burn\n[doctor] and you get up at night to urinate\n[patient] yes three times a night",
    "[doctor] any burning when you urinate ?\n[patient] nope .\n[doctor] getting up at night to urinate ?\n"
    "[patient] yeah , about three times .",
    "[doctor] alright , do you have burning when you urinate ?\n[patient] um , not really .\n"
    "[patient] but i do get up at night to urinate a lot .",
    # a restated complaint, then a bare "any" after a filler opens the question; "not that i noticed" denies
    "[doctor] okay so the frequency alright any burning when you urinate\n[patient] not that i noticed\n"
    "[doctor] and you get up at night to urinate\n[patient] yes three times a night",
    "[doctor] so nocturia okay any burning when you urinate\n[patient] not that i know of\n"
    "[patient] but i get up at night to urinate twice",
    # "tell me have you ...": an object pronoun before the question start still asks
    "[doctor] great so tell me have you had any burning when you urinate\n[patient] no\n"
    "[doctor] and you get up at night to urinate\n[patient] yes twice a night",
])
def test_a_transcript_question_is_answered_by_the_next_turn(text):
    """A clinician's question asserts nothing; the patient's plain no / yes in the next turn does."""
    ctx, ids = _ctx(text)
    opts = {"A": "Burning when he urinates", "B": "Getting up at night to urinate"}
    a = QuestionAnalyzer().run("Which urinary complaint did the patient deny?", opts)
    intent = Intent(asked="presence", negated=True)
    assert Verifier().run(Draft(opts["A"], "A", ids), ctx, a, intent).status == "verified"
    wrong = Verifier().run(Draft(opts["B"], "B", ids), ctx, a, intent)
    assert "absence" in _failed(wrong), wrong.reason


@pytest.mark.parametrize("text,question,answer,confirmed", [
    ("[doctor] and do you check your blood sugars every morning at home\n[patient] every morning\n",
     "How often does she check her blood sugar at home?", "Every morning", True),
    ("[doctor] do you take the lisinopril at night ?\n[patient] at night , yes , with dinner .\n",
     "When does he take his lisinopril?", "At night", True),
    ("[doctor] uh , digoxin ?\n[patient] that's it . yeah .\n", "Which drug does she take for afib?", "Digoxin", True),
    ("[doctor] so is it the metoprolol ?\n[patient] correct .\n", "Which drug does she take for afib?",
     "Metoprolol", True),
    ("[doctor] and do you check your blood sugars every morning at home\n[patient] i forget most days\n",
     "How often does she check her blood sugar at home?", "Every morning", False),
    ("[doctor] uh , digoxin ?\n[patient] no , something else , i'll look .\n", "Which drug does she take for afib?",
     "Digoxin", False),
])
def test_a_transcript_question_is_confirmed_by_an_echo_or_an_assent(text, question, answer, confirmed):
    """The next turn confirms a clinician's question by repeating its words or by an assent ("that's it",
    "correct"); any other turn leaves the question asserting nothing."""
    v = _verify(text, question, {"A": answer, "B": "Something else entirely"}, answer, Intent(asked="value"))
    assert (v.status == "verified") is confirmed, v.reason


@pytest.mark.parametrize("text", [
    "[doctor] so for your reflux i wan na go ahead and get a right upper quadrant ultrasound to rule out gallstones , okay ?",
    "[doctor] i'm going to order a right upper quadrant ultrasound for the nausea , alright ?",
    "[doctor] next step is a right upper quadrant ultrasound to look at the gallbladder , does that sound good ?",
])
def test_a_statement_closed_by_a_tag_question_is_a_statement(text):
    """'..., okay ?' asks only for assent: the clinician states the plan, it is no question about the patient."""
    opts = {"A": "Right upper quadrant ultrasound", "B": "CT of the abdomen"}
    v = _verify(text, "What imaging was ordered for her vomiting?", opts, opts["A"], Intent(asked="value"))
    assert "assertion" not in _failed(v), v.reason
    assert v.status == "verified", v.reason


@pytest.mark.parametrize("text,right,wrong", [
    ("we'll do lortab 5 milligram , one to two tablets every six hours as needed . i'll give you 20 of those .", "20", "5"),
    ("Tramadol 50 mg every six hours as needed; eight tablets dispensed.", "8", "6"),
    ("She received 4 cycles of FOLFOX, each over 2 days.", "4", "2"),
])
def test_a_count_is_not_a_measured_number(text, right, wrong):
    """Asked how many, a number that carries a unit (5 mg, six hours, 2 days) counts nothing."""
    _assert_stated_only(text, "How many were given?", Intent(asked="count"), right, wrong)


def _assert_stated_only(text: str, question: str, intent: Intent, right: str, wrong: str) -> None:
    """The right answer is located in the text (coverage >= 0.6); the wrong one is not."""
    from agent.claims import build_claim, locate

    bad = locate(build_claim(question, wrong, intent), text)
    assert bad is None or bad.coverage < 0.6
    assert locate(build_claim(question, right, intent), text).coverage >= 0.6


@pytest.mark.parametrize("text,question,right,wrong", [
    ("[patient] it really hurts when i'm climbing the stairs , so i use the elevator",
     "What makes her knee pain worse?", "Climbing stairs", "Climbing stairs at night"),
    ("Metoprolol 25 mg is taken every morning with breakfast.",
     "When does he take his metoprolol?", "Every morning with breakfast", "Every evening with dinner"),
    ("The rash spread from the left forearm to the chest over two days.",
     "Where did the rash spread?", "From the left forearm to the chest", "From the right forearm to the back"),
])
def test_typed_checks_alone_need_most_of_an_options_words(text, question, right, wrong):
    """Without a model to judge paraphrase, an option is stated only where at least three quarters of its words are:
    'once a day at bedtime' is not stated by 'less than once a day when i'm walking'."""
    opts = {"A": right, "B": wrong}
    intent = Intent(asked="value")
    bad = _verify(text, question, opts, wrong, intent)
    assert bad.status == "unsupported" and "value" in _failed(bad), bad.reason
    assert "value" not in _failed(_verify(text, question, opts, right, intent))


@pytest.mark.parametrize("text,question,drugs,right,wrong", [
    ("We repeated the injection with 1.0 cc of Celestone and 0.5 cc of lidocaine.",
     "How much lidocaine was drawn up with the Celestone?", ["lidocaine", "Celestone"], "0.5 cc", "1.0 cc"),
    ("For sedation she received 2 mg of midazolam and 4 mg of morphine.",
     "How much morphine was given along with the midazolam?", ["morphine", "midazolam"], "4 mg", "2 mg"),
    ("In the emergency department 1 g of ceftriaxone and 500 mg of azithromycin were given.",
     "What amount of azithromycin did he get together with ceftriaxone?", ["azithromycin", "ceftriaxone"], "500 mg", "1 g"),
])
def test_an_amount_written_of_another_drug_is_not_the_one_asked(text, question, drugs, right, wrong):
    """Asked one drug's amount given with another, "N unit of <other drug>" is the other drug's amount."""
    intent = Intent(asked="dose", entities=[IntentEntity(text=d, type="drug") for d in drugs])
    opts = {"A": right, "B": wrong}
    bad = _verify(text, question, opts, wrong, intent)
    assert bad.status == "unsupported" and "binding" in _failed(bad), bad.reason
    assert "binding" not in _failed(_verify(text, question, opts, right, intent))


@pytest.mark.parametrize("text,question,no_option", [
    ("[doctor] and have you ever had a tick bite before\n[patient] i have when i was younger , lots of them",
     "Has he been bitten by ticks before this episode?", "No, this is his first tick bite ever"),
    ("[doctor] have you ever had kidney stones in the past\n[patient] yes , twice , both passed on their own",
     "Has she had kidney stones before?", "No, she has never had kidney stones"),
    ("[doctor] any surgery on that knee before\n[patient] yeah , an arthroscopy about ten years ago",
     "Has the knee been operated on before?", "No. The knee has never had surgery"),
])
def test_a_no_reply_option_against_a_yes_reply_in_the_transcript(text, question, no_option):
    """An option that opens with "No," denies what the question asks; where the clause is that question and the
    patient answers yes, it is contradicted, whatever the option's later words."""
    opts = {"A": no_option, "B": "Yes, before"}
    bad = _verify(text, question, opts, no_option, Intent(asked="presence"))
    assert bad.status == "unsupported", bad.reason


@pytest.mark.parametrize("text", [
    "This is his first tick bite ever.",
    "He reports that this is his first tick bite ever.",
    "History: first tick bite ever, removed at home.",
])
def test_a_no_reply_option_stated_by_a_plain_sentence_keeps_its_polarity(text):
    """The "No," of a reply is not a negation of the option's own words: a sentence stating them supports it."""
    opts = {"A": "No, this is his first tick bite ever", "B": "Yes, many tick bites as a boy"}
    v = _verify(text, "Has he been bitten by ticks before this episode?", opts, opts["A"], Intent(asked="presence"))
    assert "assertion" not in _failed(v), v.reason


@pytest.mark.parametrize("text,question,right,wrong", [
    ("Headaches began 3 months ago, at which point they were 3 out of 10 in severity; he now rates them 6 out of 10.",
     "How severe are his headaches now?", "6 out of 10", "3 out of 10"),
    ("Knee pain started in spring, at the time rated 2 out of 10, and currently it is 7 out of 10.",
     "How does she rate her knee pain currently?", "7 out of 10", "2 out of 10"),
    ("His back pain was 8 out of 10 back then, and today it is 4 out of 10 in clinic.",
     "What is his current back pain score?", "4 out of 10", "8 out of 10"),
    ("Weight on admission 82 kg, 79 kg at discharge.", "What was her weight at discharge?", "79 kg", "82 kg"),
])
def test_a_value_put_in_the_past_is_not_the_current_one(text, question, right, wrong):
    """Past-time markers ('at which point', 'at the time', 'back then') place a value before the current one."""
    opts = {"A": right, "B": wrong}
    bad = _verify(text, question, opts, wrong, Intent(asked="value"))
    assert bad.status == "unsupported", bad.reason
    assert "time_role" not in _failed(_verify(text, question, opts, right, Intent(asked="value")))


@pytest.mark.parametrize("text,question,right,wrong", [
    ("On arrival BP 162/98 mmHg. Blood pressure at discharge was 134/84 mmHg.",
     "What was her BP when she arrived in the ED?", "162/98 mmHg", "134/84 mmHg"),
    ("Heart rate 118 on presentation; currently the heart rate is 84.",
     "What was his heart rate at presentation?", "118", "84"),
    ("Weight on admission 82 kg, on discharge weight 79 kg.",
     "What was her weight on admission?", "82 kg", "79 kg"),
])
def test_a_value_at_the_start_is_not_one_the_clause_puts_at_a_later_point(text, question, right, wrong):
    """Asked the value on arrival (admission, presentation), a value the clause gives at discharge or as current
    is another time's, and the other way round."""
    opts = {"A": right, "B": wrong}
    bad = _verify(text, question, opts, wrong, Intent(asked="value"))
    assert "time_role" in _failed(bad), bad.reason
    assert "time_role" not in _failed(_verify(text, question, opts, right, Intent(asked="value")))


@pytest.mark.parametrize("texts,question,option", [
    (["Head and face: pain to palpation to the sinuses.", "Lungs: no wheezes."],
     "Which of the following was NOT found on exam?", "Tenderness to palpation over the sinuses"),
    (["Abdomen: guarding in the right lower quadrant.", "No rebound."],
     "Which sign was absent on examination?", "Tenderness and guarding in the right lower quadrant"),
    (["Skin: erythema of the left forearm.", "No fever."],
     "Which finding did the patient not have?", "Warmth and erythema of the left forearm"),
])
def test_an_option_mostly_stated_for_the_patient_is_no_absence(texts, question, option):
    """Most of an option's words stated present for the patient: silence cannot be told from a paraphrase, so the
    option is not verified as the one absent."""
    ctx, ids = _ctx(*texts)
    opts = {"A": option, "B": "Fever", "C": "Wheezes", "D": "Rebound"}
    a = QuestionAnalyzer().run(question, opts)
    v = Verifier().run(Draft(option, "A", ids), ctx, a, Intent(asked="presence", negated=True))
    assert v.status == "unsupported" and "absence" in _failed(v), v.reason


@pytest.mark.parametrize("text,question,options", [
    ("The study shows postoperative changes without evidence of recurrence.", "What did the follow-up CT show?",
     ["The later study showed no evidence of recurrence.", "The later study showed new pleural effusion.",
      "The later study showed a mildly fatty liver."]),
    ("Insulin glargine 10 units at bedtime was started on 2023-05-14.", "What drug was begun for basal glucose control?",
     ["treatment with insulin glargine", "treatment with metformin", "treatment with glipizide"]),
    ("MRI lumbar spine: small disc herniation at L4-L5, no stenosis.", "What did the MRI of the lumbar spine find?",
     ["Imaging revealed a small disc herniation at L4-L5", "Imaging revealed a compression fracture",
      "Imaging revealed a spinal cord tumour"]),
])
def test_words_every_option_shares_are_framing_not_value(text, question, options):
    """Typed checks hold an option to three quarters of its own words; the words every option shares ("the later
    study showed", "treatment with") say how the options are written, and may be paraphrased."""
    opts = dict(zip("ABC", options))
    v = _verify(text, question, opts, options[0], Intent(asked="value"))
    assert "value" not in _failed(v), v.reason
    assert "value" in _failed(_verify(text, question, opts, options[1], Intent(asked="value")))


@pytest.mark.parametrize("text,question,right,wrong", [
    ("[patient] it started maybe a month or two after i started the norvasc",
     "When did the ankle swelling start?", "After he started Norvasc", "Before he ever started Norvasc"),
    ("The rash appeared two days after the first dose of amoxicillin.",
     "When did the rash appear?", "After the first dose of amoxicillin", "Before the first dose of amoxicillin"),
    ("Her headaches began before the move to night shifts.",
     "When did the headaches begin?", "Before the move to night shifts", "After the move to night shifts"),
])
def test_before_against_after_in_the_clause(text, question, right, wrong):
    """'Before' and 'after' exclude each other: an answer placing the event on the other side is contradicted."""
    opts = {"A": right, "B": wrong, "C": "It is not documented when"}
    bad = _verify(text, question, opts, wrong, Intent(asked="date"))
    assert bad.status == "unsupported" and "contrast" in _failed(bad), bad.reason
    assert "contrast" not in _failed(_verify(text, question, opts, right, Intent(asked="date")))


@pytest.mark.parametrize("text,question,options,negated,present", [
    ("[doctor] but i do n't think that this is a sign of a stroke or any bleeding in your brain",
     "What does the doctor think causes the headache?", ["Bleeding in the brain", "Muscle tension"],
     "Bleeding in the brain", None),
    ("[doctor] but i do n't think that this is a a sign of a stroke or any bleeding in your brain or anything like that",
     "What type of headache does the physician believe she has?", ["Headache from a brain bleed", "Tension headache"],
     "Headache from a brain bleed", None),
    ("[doctor] we did n't see any fracture of the wrist on the x-ray today",
     "What did the wrist x-ray show?", ["A fracture of the wrist", "Soft tissue swelling"],
     "A fracture of the wrist", None),
    ("[patient] i could n't qualify because i had recently traveled internationally",
     "Why was he turned away from donating blood?", ["He had recently traveled internationally", "He had anemia"],
     None, "He had recently traveled internationally"),
])
def test_a_transcripts_split_negation(text, question, options, negated, present):
    """Speech transcripts split "don't" into "do n't": it negates what follows in its clause, but not past
    "because", which opens a clause of its own."""
    opts = dict(zip("AB", options))
    if negated:
        v = _verify(text, question, opts, negated, Intent(asked="value"))
        assert "assertion" in _failed(v), v.reason
    if present:
        v = _verify(text, question, opts, present, Intent(asked="value"))
        assert "assertion" not in _failed(v), v.reason


@pytest.mark.parametrize("question,answer", [
    ("How much coffee did the doctor suggest he limit himself to?", "None at all"),
    ("How many cigarettes does she smoke now?", "None"),
    ("How many puffs of the rescue inhaler does he need per day?", "None at present"),
])
def test_a_none_answer_is_an_absence_not_a_word_to_find(question, answer):
    """'None' says an amount is zero: finding the word "none" somewhere ("uh, none of that") confirms nothing."""
    text = "[patient] uh , none of that .\n[doctor] okay , and he quit drinking last year ."
    v = _verify(text, question, {"A": answer, "B": "One cup a day", "C": "Two packs a day"}, answer, Intent(asked="value"))
    assert v.status == "unsupported", v.reason


@pytest.mark.parametrize("text,question,entity", [
    ("- Raynaud phenomenon since 2013 (age 19), no digital ulcers", "When was her arthralgia first documented?",
     "arthralgia"),
    ("Appendectomy in 2009. Smoker since 1998.", "In which year was the cholecystectomy?", "cholecystectomy"),
    ("Hypertension diagnosed 2015; on amlodipine.", "When did the asthma start?", "asthma"),
])
def test_a_bare_year_is_bound_like_a_date(text, question, entity):
    """A year is a date at year precision: one written of another condition does not date the one asked about."""
    intent = Intent(asked="date", entities=[IntentEntity(text=entity, type="problem")])
    opts = {"A": "2013" if "2013" in text else "2009" if "2009" in text else "2015", "B": "2020", "C": "2021"}
    v = _verify(text, question, opts, opts["A"], intent)
    assert v.status == "unsupported" and "binding" in _failed(v), v.reason


def test_a_bare_year_bound_to_its_subject_is_verified():
    intent = Intent(asked="date", entities=[IntentEntity(text="appendectomy", type="procedure")])
    v = _verify("Appendectomy in 2009. Smoker since 1998.", "In which year was the appendectomy?",
                {"A": "2009", "B": "1998", "C": "2015"}, "2009", intent)
    assert v.status == "verified", v.reason


@pytest.mark.parametrize("question,day", [
    ("During the ED work-up on 10/29/2023, which symptom did the patient explicitly deny?", "2023-10-29"),
    ("Which symptom was denied at the visit of 29 October 2023?", "2023-10-29"),
    ("On 2022-05-03, which complaint did she NOT report?", "2022-05-03"),
])
def test_a_denial_must_be_told_of_the_day_asked(question, day):
    """Asked what was denied on one day, a denial written in a note of another day answers nothing; the same
    denial in that day's note does."""
    import datetime as dt

    from agent.understand import find_dates

    asked = find_dates(question)[0][0]
    assert asked == dt.date.fromisoformat(day)
    opts = {"A": "Palpitations", "B": "Chest pain", "C": "Fever"}
    a = QuestionAnalyzer().run(question, opts)
    intent = Intent(asked="presence", negated=True)

    def verdict(denial_day):
        ctx = Context("p1")
        texts = [("Denies palpitations.", denial_day), ("Reports chest pain and fever.", asked)]
        ids = [ctx.add_passage(Passage("p1", f"p1/n{i}", 0, len(t), t, d)) for i, (t, d) in enumerate(texts)]
        return Verifier().run(Draft(opts["A"], "A", ids), ctx, a, intent)

    other = verdict(asked - dt.timedelta(days=200))
    assert other.status == "unsupported" and "absence" in _failed(other), other.reason
    assert verdict(asked).status == "verified"


def test_a_computed_order_does_not_answer_a_question_that_asks_no_order():
    """"Sent home on after his first hospital stay" asks a regimen, not which option came first: an order computed
    for it verifies nothing."""
    import datetime as dt

    from agent.tools import Computed

    text = "Dabigatran 150 mg twice daily after a heparin lead-in was started on 2023-11-02."
    ctx = Context("p1")
    p = Passage("p1", "p1/n0", 0, len(text), text, dt.date(2023, 11, 2))
    opts = {"A": "Dabigatran 150 mg twice daily after a heparin lead-in", "B": "Apixaban 5 mg twice daily",
            "C": "Warfarin, INR 2-3"}
    cid = ctx.add_computed(Computed("order", "first: dabigatran", {"choice": "A", "items": [
        {"query": opts["A"], "date": dt.date(2023, 11, 2)}]}, [p]))
    a = QuestionAnalyzer().run("Which anticoagulant regimen was he sent home on after his first hospital stay?", opts)
    v = Verifier().run(Draft(opts["A"], "A", [cid], computed_answer=True), ctx, a, Intent(asked="value"))
    assert v.status == "unsupported" and "recompute" in _failed(v), v.reason


@pytest.mark.parametrize("question,asks_order", [
    ("Which was the first treatment started during the hospital stay?", True),
    ("Which of these drugs was given last?", True),
    ("Which regimen was he sent home on after his first hospital stay?", False),
    ("What dose was given at the second infusion?", False),
    ("Which antibiotic was used during the first admission?", False),
])
def test_an_ordinal_of_the_time_anchor_asks_no_order(question, asks_order):
    """'the first treatment' asks an order; 'after his first hospital stay' ranks the anchor, not the options."""
    from agent.verify import _anchor_ordinal

    assert _anchor_ordinal(question) is not asks_order


@pytest.mark.parametrize("text,right,wrong", [
    ("She completed a colonoscopy 5-6 years ago with unremarkable findings.", "5 to 6 years ago", "About a year ago"),
    ("He had the rotator cuff repaired about a year ago.", "About a year ago", "About 5 years ago"),
    ("We will see her back in a couple of weeks.", "In 2 weeks", "In about 1 month"),
])
def test_a_time_said_with_an_article_is_a_number_of_its_unit(text, right, wrong):
    """'a year ago' is one year and 'a couple of weeks' two: not the words 'year' / 'weeks' of any span of years."""
    _assert_stated_only(text, "When was it?", Intent(asked="date"), right, wrong)


TOTAL = Intent(asked="dose", entities=[IntentEntity(text="methylprednisolone", type="drug")])


@pytest.mark.parametrize("text,question,right,wrong", [
    ("Induction with methylprednisolone 500 mg IV once daily on three consecutive days, followed by oral prednisolone "
     "40 mg daily.", "What total dose of methylprednisolone did the pulses deliver?", "1,500 mg", "540 mg"),
    ("Methylprednisolone 250 mg IV daily for 4 days was given for the flare.",
     "What cumulative amount of methylprednisolone was given?", "1,000 mg", "250 mg"),
    ("Correction doses of methylprednisolone on day 1: 125 mg at 08:00, 125 mg at 14:00 and 60 mg at 20:00.",
     "How much methylprednisolone was given in total on day 1?", "310 mg", "250 mg"),
    ("Methylprednisolone 1 g IV x 3 doses, then taper.", "What was the total methylprednisolone dose?", "3 g", "1 g"),
])
def test_a_total_is_re_derived_from_its_amounts_and_counts(text, question, right, wrong):
    """A total asked for is the sum of the subject's amounts in one sentence, or its one amount times the count of
    its doses or (once-daily) days; any other number is still no total."""
    opts = {"A": right, "B": wrong}
    ok = _verify(text, question, opts, right, TOTAL)
    assert ok.status == "verified" and "recompute" in {f.check for f in ok.findings}, ok.reason
    assert _verify(text, question, opts, wrong, TOTAL).status != "verified"


@pytest.mark.parametrize("text,question,answer", [
    ("Methylprednisolone 500 mg IV twice daily for 3 days.", "What total dose of methylprednisolone was given?",
     "1,500 mg"),   # twice a day: days do not count its doses
    ("Prednisolone 40 mg and 20 mg, then methylprednisolone 500 mg once.",
     "What total dose of methylprednisolone was given?", "560 mg"),  # the amounts before the subject are another's
])
def test_a_total_does_not_count_what_the_sentence_does_not_give_the_subject(text, question, answer):
    v = _verify(text, question, {"A": answer, "B": "100 mg"}, answer, TOTAL)
    assert v.status != "verified", v.reason


@pytest.mark.parametrize("text,question,contingent,denied", [
    ("[patient] i do n't wake up at night much . if i'm around smoke i do start coughing a little bit .",
     "Which problem does she say she does NOT have?", "Coughing around smoke", "Waking up at night"),
    ("Return to the ED if you develop chest pain. She denies fever.", "Which symptom did she deny?",
     "Chest pain", "Fever"),
    ("Should the leg swelling worsen, call the clinic. No redness of the leg.", "Which finding was absent?",
     "Leg swelling", "Redness of the leg"),
])
def test_a_contingency_is_no_denial(text, question, contingent, denied):
    """Asked what was denied, an option the record names only in a condition ("if ...", "should ...") is not
    denied there; the one it states absent is."""
    opts = {"A": contingent, "B": denied}
    intent = Intent(asked="presence", negated=True)
    assert _verify(text, question, opts, contingent, intent).status != "verified"
    ok = _verify(text, question, opts, denied, intent)
    assert ok.status == "verified", ok.reason


@pytest.mark.parametrize("text,answer,states", [
    ("A progestin-only pill (desogestrel 75 µg daily) was started.", "Desogestrel 75 µg once daily", True),
    ("She reports annual mole checks by her primary care provider at her physicals.", "Once a year", True),
    ("Metoprolol 25 mg BID.", "Metoprolol 25 mg twice daily", True),
    ("Methotrexate 15 mg weekly.", "Methotrexate 15 mg once daily", False),
    ("Metformin 500 mg twice daily.", "Metformin 500 mg once daily", False),
    ("Metformin 500 mg 2 times a day.", "Metformin 500 mg once a day", False),
    ("Metformin 500 mg daily.", "Metformin 500 mg twice daily", False),
    ("Take two tablets a day.", "Once a day", False),
    ("it happens occasionally less than once a day when i'm walking", "Once a day at bedtime", False),
    ("we'll give you 600 milligrams of motrin every six hours", "600 mg every 6 hours", True),
    ("Ibuprofen 400 mg PO q8h as needed.", "Ibuprofen 400 mg three times a day", True),
    ("Paracetamol 1 g every twelve hours.", "Paracetamol 1 g twice daily", True),
    ("Oxycodone 5 mg every 4 hours as needed.", "Oxycodone 5 mg every 6 hours", False),
    ("Amoxicillin 500 mg every 8 hours.", "Amoxicillin 500 mg twice a day", False),
    # a schedule by time of day, morning-noon-evening(-night): one digit a slot, the doses a day
    ("Rivaroxaban 15 mg      1-0-1 with meals until 20.11.2023", "Rivaroxaban 15 mg twice daily", True),
    ("Metoprolol 47.5 mg 1-0-0", "Metoprolol 47.5 mg once daily", True),
    ("Prednisolone 5 mg 1-0-0", "Prednisolone 5 mg twice daily", False),
    ("Ursodeoxycholic acid 250 mg 1-1-1", "Ursodeoxycholic acid 250 mg three times daily", True),
    ("Quetiapine 25 mg 0-0-0-1", "Quetiapine 25 mg once daily", True),
])
def test_how_often_is_read_however_it_is_written(text, answer, states):
    """A frequency is one value however it is written ("once daily" / "daily", "once a year" / "annual", "twice
    daily" / "BID" / "1-0-1"); "twice daily" is not "daily", and "two tablets a day" says no frequency."""
    from agent.claims import build_claim, locate

    claim = build_claim("How often?", answer, Intent(asked="value"))
    loc = locate(claim, text)
    assert (loc is not None and loc.coverage >= 0.6) is states


@pytest.mark.parametrize("text,question,options,answer", [
    ("VITALS\nRespiratory rate: 20 breaths per minute.\nPulse oxygenation: 99 percent on room air.",
     "What was the patient's RR at this visit?",
     {"A": "16 breaths per minute", "B": "20 breaths per minute", "C": "24 breaths per minute"}, "20 breaths per minute"),
    ("Vital signs: heart rate 88, respirations 18/min, temperature 37.1 C.", "What RR was recorded?",
     {"A": "18 breaths/min", "B": "22 breaths/min", "C": "12 breaths/min"}, "18 breaths/min"),
    ("Aufnahme: Blutdruck 150/90 mmHg, Puls 88. Blood pressure 150/90 mmHg on arrival.", "What was the RR on arrival?",
     {"A": "150/90 mmHg", "B": "120/80 mmHg", "C": "140/95 mmHg"}, "150/90 mmHg"),
])
def test_an_ambiguous_measurement_name_binds_by_the_unit_of_its_value(text, question, options, answer):
    """'RR' is respiratory rate or, in German notation, blood pressure: the unit of the answer's value says which,
    so the clause that names the other one of its names ('Respiratory rate', 'Blood pressure') binds it."""
    intent = Intent(asked="test_result", entities=[IntentEntity(text="RR", type="test")])
    v = _verify(text, question, options, answer, intent)
    assert "binding" not in _failed(v) and v.status == "verified", [(f.check, f.status, f.detail) for f in v.findings]
    for wrong in (o for o in options.values() if o != answer):
        assert _verify(text, question, options, wrong, intent).status != "verified", wrong


@pytest.mark.parametrize("text,question,answer,wrong", [
    ("[patient] no i was so initially when i first fell i was unable to walk at all i had a friend that was visiting "
     "so she helped me inside", "Who helped her get back inside?", "A friend who was visiting her", "Her husband"),
    ("[patient] no not really i mean it was just a normal monday at the office until the pain started after i lifted "
     "the heavy boxes at work", "What was she doing when the pain started?", "Lifting heavy boxes at work",
     "Running on a treadmill"),
    ("[patient] no i do think it was about three weeks ago on a saturday morning i guess when my daughter drove me "
     "over to the urgent care", "Who drove her to the urgent care?", "Her daughter", "Her son"),
])
def test_a_reply_no_early_in_a_run_on_turn_does_not_negate_a_mention_far_after_it(text, question, answer, wrong):
    intent = Intent(asked="value")
    options = {"A": answer, "B": wrong}
    v = _verify(text, question, options, answer, intent)
    assert v.status == "verified", [(f.check, f.status, f.detail) for f in v.findings]
    assert _verify(text, question, options, wrong, intent).status != "verified"


def test_a_negation_within_reach_still_negates_in_a_run_on_turn():
    text = "[patient] well i was walking a lot more this summer but i have had no swelling in my ankles at all"
    v = _verify(text, "Which symptom did she report?", {"A": "Ankle swelling", "B": "Chest pain"}, "Ankle swelling",
                Intent(asked="value"))
    assert v.status != "verified" and "assertion" in _failed(v)


@pytest.mark.parametrize("text,question,right,wrong", [
    ("Esophageal varices s/p EVL x3 (01/10/2023: 5 bands; 02/08/2023: 3 bands; 03/08/2023: 2 bands).",
     "How many rubber bands were placed in total over all of her EVL sessions?", "10", "5"),
    ("Transfusions: 2 units of packed red cells on 02/17, 1 unit on 02/18 and 2 units on 02/20.",
     "How many units of packed red cells were transfused in total?", "5", "2"),
    ("Chemotherapy: 4 cycles of FOLFOX in 2021 and 2 further cycles of FOLFOX in 2022.",
     "How many cycles of FOLFOX did he receive altogether?", "6", "4"),
])
def test_a_total_of_counted_things_is_the_sum_of_a_sentences_counts(text, question, right, wrong):
    """'How many X in total': the counts of X one sentence lists ('5 bands; 3 bands; 2 bands') add up to the answer;
    one of them alone is not the total."""
    opts = {"A": right, "B": wrong, "C": "12"}
    v = _verify(text, question, opts, right, Intent(asked="count"))
    assert v.status == "verified", [(f.check, f.status, f.detail) for f in v.findings]
    assert _verify(text, question, opts, wrong, Intent(asked="count")).status != "verified"


@pytest.mark.parametrize("texts,question,options,answer", [
    (["[patient] i have had some nausea", "[doctor] diarrhea no", "[patient] and i still have the cough"],
     "Which of the following did he deny?", {"A": "diarrhea", "B": "nausea", "C": "cough"}, "diarrhea"),
    (["Review of systems:", "Fever: none.", "Cough: productive, for two weeks.", "Headache: present in the mornings."],
     "Which symptom was denied?", {"A": "fever", "B": "cough", "C": "headache"}, "fever"),
    (["ROS: chest pain no.", "Palpitations: yes, twice a week.", "Dizziness on standing up."],
     "Which of these does she NOT report?", {"A": "chest pain", "B": "palpitations", "C": "dizziness"}, "chest pain"),
])
def test_a_term_answered_no_after_it_is_denied(texts, question, options, answer):
    """A review of systems said or dictated term by term ('diarrhea no', 'Fever: none.') denies the term."""
    ctx, ids = _ctx(*texts)
    a = QuestionAnalyzer().run(question, options)
    intent = Intent(asked="value", negated=True)
    letter = next(k for k, v in options.items() if v == answer)
    assert Verifier().run(Draft(answer, letter, ids), ctx, a, intent).status == "verified"
    for k, v in options.items():
        if v != answer:
            assert Verifier().run(Draft(v, k, ids), ctx, a, intent).status != "verified", v


@pytest.mark.parametrize("text,question,options,answer", [
    ("[doctor] your blood pressure is one thirty over sixty eight your heart rate was ninety eight and your "
     "respiratory rate was eighteen so those all look good", "What was her heart rate?",
     {"A": "98 beats per minute", "B": "18 beats per minute", "C": "68 beats per minute"}, "98 beats per minute"),
    ("Her heart rate was 72 and the respiratory rate was 16 on arrival.", "What was her heart rate on arrival?",
     {"A": "72 bpm", "B": "16 bpm", "C": "90 bpm"}, "72 bpm"),
    ("[doctor] so the white blood cell count came back at eleven and the red blood cell count was four point two",
     "What was the white blood cell count?", {"A": "11", "B": "4.2", "C": "8"}, "11"),
])
def test_a_subject_word_inside_another_entitys_name_is_that_entity(text, question, options, answer):
    """'rate' of 'respiratory rate' is no mention of the heart rate asked: the value next to it belongs to the
    respiratory rate, and the heart rate's own value is the one after its name."""
    from agent.intent import shared_parser

    intent = shared_parser().run(question, options)
    assert _verify(text, question, options, answer, intent).status == "verified"
    for wrong in (o for o in options.values() if o != answer):
        v = _verify(text, question, options, wrong, intent)
        assert v.status != "verified", (wrong, [(f.check, f.status, f.detail) for f in v.findings])


@pytest.mark.parametrize("answer,parts", [
    ("20 mL TID from June 2023, raised to 30 mL TID in August 2023, cut to 20 mL BID in February 2024",
     ["20 mL TID from June 2023", "raised to 30 mL TID in August 2023", "cut to 20 mL BID in February 2024"]),
    ("Hb 7.2 g/dL, platelets 45, INR 1.8", ["Hb 7.2 g/dL", "platelets 45", "INR 1.8"]),
    ("started on May 21, 2024, stopped on June 3, 2024", ["started on May 21, 2024", "stopped on June 3, 2024"]),
    ("May 21, 2024", ["May 21, 2024"]),
    ("4.4 cm, left upper lobe", ["4.4 cm, left upper lobe"]),
    ("1,500 mg", ["1,500 mg"]),
    ("Warfarin, then apixaban 5 mg BID", ["Warfarin", "apixaban 5 mg BID"]),
])
def test_a_list_of_steps_each_with_its_own_value_is_a_composite_answer(answer, parts):
    """Commas cut an answer into steps only where every step carries its own number or date; a comma inside a date
    or a number, or a list item with no value of its own, does not."""
    from agent.claims import answer_parts

    assert answer_parts(answer) == parts


@pytest.mark.parametrize("text,note_date,answer,states", [
    ("you should have another mammogram in april of 2022 before you come back", None, "April 2022", True),
    ("Repeat mammogram planned for 04/2022.", None, "In April 2022", True),
    ("you should have another mammogram in april of 2023", None, "April 2022", False),
    ("Increase lactulose from 20 mL TID to 30 mL TID.", dt.date(2023, 8, 24), "30 mL TID in August 2023", True),
    ("Increase lactulose from 20 mL TID to 30 mL TID.", dt.date(2023, 8, 24), "30 mL TID in July 2023", False),
    ("Admitted 06/14-06/21/2023 for encephalopathy; discharged on lactulose 20 mL TID.", dt.date(2023, 8, 24),
     "20 mL TID from June 2023", True),
])
def test_a_month_in_the_answer_is_a_date_of_its_sentence_or_its_note(text, note_date, answer, states):
    """"in June 2023" is a month, not the word "june" and the number 2023: a date of that month in the sentence, or
    a note written that month, states it."""
    from agent.claims import build_claim, locate

    claim = build_claim("How was the dose titrated?", answer, Intent(asked="value"))
    assert claim.months and not any(v >= 1900 for v, _, _ in claim.numbers)
    loc = locate(claim, text, note_date)
    assert (loc is not None and loc.coverage >= 0.6) is states


TITRATION = ("Metformin was started at 500 mg twice daily on 03/02/2021. On 06/10/2021 metformin was increased to "
             "1000 mg twice daily. In January 2022 metformin was reduced to 500 mg once daily because of diarrhea.")


@pytest.mark.parametrize("answer,verified", [
    ("500 mg BID from March 2021, raised to 1000 mg BID in June 2021, cut to 500 mg daily in January 2022", True),
    ("500 mg twice daily from March 2021, 1000 mg twice daily from June 2021, 500 mg once daily from January 2022",
     True),
    ("500 mg BID from March 2021, raised to 1000 mg BID in June 2021, cut to 500 mg daily in March 2022", False),
    ("1000 mg BID from March 2021, raised to 1500 mg BID in June 2021, cut to 500 mg daily in January 2022", False),
])
def test_each_step_of_a_titration_must_be_stated_with_its_month(answer, verified):
    q = "How was metformin titrated over time?"
    opts = {"A": answer, "B": "Metformin was never changed"}
    v = _verify(TITRATION, q, opts, answer, Intent(asked="dose", entities=[IntentEntity(text="metformin", type="drug")]))
    assert (v.status == "verified") is verified, v.reason


@pytest.mark.parametrize("text,verified", [
    ("Prednisolone 20 mg daily was tapered to 10 mg daily on 02/03/2023. Prednisolone was then reduced to 5 mg daily "
     "and continued at 5 mg daily until the end of May 2023.", False),
    ("Prednisolone 20 mg daily was tapered to 10 mg daily on 02/03/2023. Prednisolone 10 mg daily was continued "
     "until the end of May 2023.", True),
    ("Prednisolone 20 mg daily was tapered to 10 mg daily on 02/03/2023. She stayed on prednisolone; in May 2023 "
     "the dose was 7.5 mg daily, continued until the end of May 2023.", False),
])
def test_a_step_said_unchanged_needs_the_value_before_it(text, verified):
    """"then 10 mg daily, continued unchanged until May" leaves out a change when the sentence that continues the
    drug gives another dose."""
    q = "How did the prednisolone dose evolve?"
    answer = "20 mg daily, then 10 mg daily, continued unchanged until the end of May 2023"
    opts = {"A": answer, "B": "40 mg daily throughout"}
    v = _verify(text, q, opts, answer, Intent(asked="dose", entities=[IntentEntity(text="prednisolone", type="drug")]))
    assert (v.status == "verified") is verified, v.reason


@pytest.mark.parametrize("text,question,answer,agreed", [
    ("[doctor] how about one , one eight-ounce cup a day ? okay ?\n[patient] sure .", "How much coffee may he drink?",
     "One 8-ounce cup a day", True),
    ("[doctor] can we try walking twenty minutes a day ? all right ?\n[patient] yup , i can do that .",
     "How much walking was agreed?", "Twenty minutes a day", True),
    ("[doctor] what about two glasses of wine a week ? does that sound good ?\n[patient] absolutely .",
     "How much wine was agreed on?", "Two glasses a week", True),
    ("[doctor] how about one , one eight-ounce cup a day ? okay ?\n[patient] no , that will not work for me .",
     "How much coffee may he drink?", "One 8-ounce cup a day", False),
    ("[doctor] can we try walking twenty minutes a day ? all right ?\n[doctor] and the labs look fine .",
     "How much walking was agreed?", "Twenty minutes a day", False),
])
def test_the_reply_after_a_speakers_own_tag_question_answers_the_proposal(text, question, answer, agreed):
    """"how about one cup a day ? okay ?" / "[patient] sure .": the tag asks for the same reply, so the patient's
    turn after it answers the proposal; a refusal, or no reply of the other speaker, confirms nothing."""
    opts = {"A": answer, "B": "Nothing was agreed"}
    v = _verify(text, question, opts, answer, Intent(asked="value"))
    assert (v.status == "verified") is agreed, v.reason


@pytest.mark.parametrize("text,question,right,wrong", [
    ("physical exam shows a fussy infant . eyes are small appearing .", "What eye finding was documented?",
     "Microphthalmia (small-appearing eyes)", "Cataract (cloudy lens)"),
    ("i do think that you have a tension type headache from the tight neck muscles .",
     "What type of headache does the physician believe she has?", "Tension-type headache", "Cluster headache"),
    ("The wound is well healed and the margins are well circumscribed.", "How were the wound margins described?",
     "Well-circumscribed margins", "Irregular, ragged margins"),
])
def test_typed_checks_read_a_hyphenated_option_word_written_apart(text, question, right, wrong):
    """With typed checks alone an option's own words must be in the clause: "tension type" there is the option's
    "tension-type"."""
    opts = {"A": right, "B": wrong}
    assert _verify(text, question, opts, right, Intent(asked="value")).status == "verified"
    assert _verify(text, question, opts, wrong, Intent(asked="value")).status != "verified"



@pytest.mark.parametrize("text", [
    "Abdominal ultrasound on 2018-12-28 showed a mildly fatty liver.",
    "Abdominal ultrasound (28.12.2018): mildly fatty liver.",
    "An abdominal ultrasound done 12/28/2018 showed a mildly fatty liver.",
])
def test_a_dates_month_name_is_the_date_not_a_word_to_find(text):
    """'December 28, 2018' is stated by any writing of that day: its month name is not a word the clause must hold
    as well; another day is still not stated."""
    from agent.claims import build_claim, locate
    from agent.intent import IntentParser

    q = "On which date was the abdominal ultrasound that showed a fatty liver?"
    intent = IntentParser().run(q)
    right = build_claim(q, "December 28, 2018", intent)
    assert "decemb" not in right.value_terms and locate(right, text).coverage == 1.0
    assert locate(build_claim(q, "December 29, 2018", intent), text) is None


ELBOW = Intent(asked="value", entities=[IntentEntity(text="elbow pain", type="problem")])


@pytest.mark.parametrize("text", [
    "the good news is i do n't see any fracture of that right elbow which is good so for your elbow pain i do "
    "believe this is consistent with right medial epicondylitis",
    "X-ray: right elbow fracture ruled out. Assessment: elbow pain due to right medial epicondylitis.",
    "For the elbow pain: right medial epicondylitis; there is no right elbow fracture.",
])
def test_an_option_the_clause_denies_is_no_rival_for_the_subject(text):
    """Another option nearer the subject competes for it only when the clause affirms it: 'no fracture of that
    right elbow' states no fracture for the elbow pain."""
    q = "What diagnosis was given for the elbow pain?"
    opts = {"A": "Right elbow fracture", "B": "Right medial epicondylitis"}
    ok = _verify(text, q, opts, opts["B"], ELBOW)
    assert ok.status == "verified", ok.reason
    assert _verify(text, q, opts, opts["A"], ELBOW).status != "verified"


STONE = Intent(asked="value", entities=[IntentEntity(text="ureteral stone", type="problem")])


@pytest.mark.parametrize("text", [
    "[doctor] okay i want you to drink as much as possible to see if we can pass the stone what i'm gon na do is i'm "
    "gon na prescribe you ibuprofen eight hundred milligrams you can take that as needed for pain just in case it does "
    "start to move you're in pain i want you to take the ibuprofen",
    "for the stone i will prescribe ibuprofen 800 mg, to take as needed in case the pain comes back; take the "
    "ibuprofen with food",
    "to pass the stone, drink plenty; in case of pain, ibuprofen 800 mg as needed is prescribed and you can take the "
    "ibuprofen with food",
])
def test_a_prescription_for_when_needed_answers_what_was_prescribed(text):
    """'What was prescribed' asks about the plan (verify_cues plan_question): a prescription to take 'as needed'
    or 'in case' of pain answers it; another dose or drug still does not."""
    question = "Since OTC ibuprofen wasn't controlling her pain, what analgesic was prescribed for her ureteral stone?"
    opts = {"A": "Ibuprofen 800 mg as needed", "B": "Ibuprofen 400 mg as needed", "C": "Oxycodone 5 mg"}
    ok = _verify(text, question, opts, opts["A"], STONE)
    assert ok.status == "verified", ok.reason
    assert _verify(text, question, opts, opts["B"], STONE).status != "verified"
    assert _verify(text, question, opts, opts["C"], STONE).status != "verified"


@pytest.mark.parametrize("text", [
    "She has seen a neurologist, an ophthalmologist and an audiologist over the past year.",
    "[patient_guest] and then she has seen a neurologist\n[doctor] and the ophthalmologist ?\n[patient_guest] yes , "
    "and the audiologists too .",
    "Specialists involved: neurological follow-up, ophthalmology review, audiology testing.",
])
def test_a_specialist_in_the_record_is_the_specialty_an_option_names(text):
    """'Seen by a neurologist' documents the option 'Neurology': the practitioner and the specialty share a stem, so
    the one specialty the record never names is the absence asked for, and a named one is not."""
    q = "Which of these specialties has she NOT been seen by?"
    opts = {"A": "Cardiology", "B": "Neurology", "C": "Audiology", "D": "Ophthalmology"}
    ctx, ids = _ctx(text)
    a = QuestionAnalyzer().run(q, opts)
    intent = Intent(asked="value", negated=True)
    right = Verifier().run(Draft(opts["A"], "A", ids), ctx, a, intent)
    assert right.status == "verified", right.reason
    for k in "BCD":
        assert "absence" in _failed(Verifier().run(Draft(opts[k], k, ids), ctx, a, intent)), k


@pytest.mark.parametrize("text,answer", [
    ("[doctor] you do have that kidney stone so right now i'm gon na recommend that we have you push fluids to help "
     "you pass the stone", "Push fluids"),
    ("[doctor] so for the stone i'll have you drink plenty of fluids and strain your urine", "Drink plenty of fluids"),
    ("[doctor] okay so what we're gon na do is we'll have you increase your fluid intake until the stone passes",
     "Increase fluid intake"),
])
def test_have_you_after_a_subject_tells_the_plan_not_a_question(text, answer):
    """'we have you push fluids' is what the clinician will have the patient do, not a question ('have you ...?')
    that asserts nothing (verify_cues interrogative.not_after)."""
    q = "What was he told to do to help the stone pass?"
    opts = {"A": answer, "B": "Take tamsulosin"}
    ok = _verify(text, q, opts, answer, Intent(asked="value", entities=[IntentEntity(text="stone", type="problem")]))
    assert ok.status == "verified", ok.reason


@pytest.mark.parametrize("text", [
    "At discharge: CA 15-3 42 U/mL, leukocytes 5.7 /nL. On 15 July 2022: CA 15-3 49 U/mL, leukocytes 6.1 /nL.",
    "Leukocytes 5.7 /nL today. Leukocytes on 15.07.2022 were 6.1 /nL.",
    "Labs: leukocytes 5.7 /nL.\n15/07/2022: leukocytes 6.1 /nL (outside laboratory).",
])
def test_a_note_dates_only_the_sentences_that_write_no_other_date(text):
    """A letter's date dates its undated sentences; a sentence that writes another day ('On 15 July 2022: ...')
    gives that day's value, not the letter's."""
    question = "What was the patient's leukocyte count on Jul 23, 2022?"
    opts = {"A": "5.7 /nL on Jul 23, 2022", "B": "6.1 /nL on Jul 23, 2022"}
    a = QuestionAnalyzer().run(question, opts)
    intent = Intent(asked="value", entities=[IntentEntity(text="leukocyte count", type="test")])
    for letter, ok in (("A", True), ("B", False)):
        ctx = Context("p1")
        eid = ctx.add_passage(Passage("p1", "p1/n0", 0, len(text), text, dt.date(2022, 7, 23)))
        v = Verifier().run(Draft(opts[letter], letter, [eid]), ctx, a, intent)
        assert (v.status == "verified") == ok, (letter, v.reason)


@pytest.mark.parametrize("text,question", [
    ('The diagnosis "type 2 diabetes" in our discharge letter of 06.03.2024 is hereby corrected to steroid-induced '
     "hyperglycemia; it was first recorded on 04.03.2024.", "On what date was diabetes first recorded?"),
    ("As stated in the report dated 06.03.2024, the fracture was first seen on 04.03.2024.",
     "When was the fracture first seen?"),
    ("Per the referral from 06.03.2024, her knee pain began on 04.03.2024.", "When did her knee pain begin?"),
])
def test_a_documents_date_is_not_the_date_of_the_event_it_records(text, question):
    """'our letter of 06.03.2024' dates the letter: asked when the event happened, that date is refused and the
    event's own date is not (verify_cues document_dates)."""
    opts = {"A": "March 4, 2024", "B": "March 6, 2024"}
    intent = Intent(asked="date")
    ok = _verify(text, question, opts, opts["A"], intent)
    assert ok.status == "verified", ok.reason
    assert "time_role" in _failed(_verify(text, question, opts, opts["B"], intent))
