"""agent.intent: the rule parser on wordings of our own (not the dev sets'), the LLM path and its fallback.

The fast tests use the rules and a fake LLM object; one slow test runs the packaged qwen2.5-0.5b.
"""
from __future__ import annotations

import json

import pytest

from agent.intent import SYSTEM_PROMPT, IntentParser, intent_schema
from agent.llm.client import LLMResult
from agent.records import Intent
from clinqa.errors import InputError, LLMUnavailableError


@pytest.fixture(scope="module")
def parser():
    p = IntentParser()
    p.warm_up()
    return p


ASKED = {
    "dose": [
        "What dose of metoprolol was she discharged on?",
        "How much insulin glargine does he inject at night?",
        "What strength of the fentanyl patch was applied?",
        "Warfarin was reduced to what dosage?",
        "How frequently should she use the tiotropium inhaler?",
        "How often is he to take the furosemide?",
        "How often was the nasal spray to be applied?",
    ],
    "date": [
        "When was the colonoscopy performed?",
        "On what date did the rash first appear?",
        "In which year was the hip replaced?",
        "How long ago was the last hospital admission?",
    ],
    "reason": [
        "Why was methotrexate discontinued?",
        "For what reason was the CT repeated?",
        "What was amoxicillin prescribed for?",
        "What prompted the switch from enalapril to losartan?",
    ],
    "count": [
        "How many units of packed red cells were transfused?",
        "How often did the seizures recur in the spring?",
        "What number of chemotherapy cycles were completed?",
        "Count the chemotherapy cycles this patient got.",
        "Please count the admissions for heart failure.",
        "Tally the transfusions given during the stay.",
    ],
    "order": [
        "Which came first, the stroke or the atrial fibrillation diagnosis?",
        "In what sequence were the antibiotics given?",
        "Which of these procedures was done last?",
    ],
    "interval": [
        "How many weeks passed between the biopsy and the mastectomy?",
        "How long did the fever last?",
        "What was the delay between symptom onset and admission?",
        "Dry cough developed how far into lisinopril therapy?",
        "How far after the transplant did the rejection occur?",
        "The rash appeared how long into the course of amoxicillin?",
    ],
    "trend": [
        "How did the creatinine change over the admission?",
        "How has her weight evolved since starting semaglutide?",
        "What was the trend of the platelet count?",
    ],
    "test_result": [
        "What did the chest x-ray reveal?",
        "What was the potassium level on admission?",
        "How high was the troponin?",
        "What did the knee MRI show?",
    ],
    "presence": [
        "Was the patient ever treated with rituximab?",
        "Does the record mention a penicillin allergy?",
        "Has he had a colonoscopy?",
    ],
    "value": [
        "Which antihypertensive was added at discharge?",
        "What diagnosis was made in the emergency department?",
        "Who performed the bronchoscopy?",
        "Where was the fracture located?",
    ],
}


@pytest.mark.parametrize("asked,question", [(a, q) for a, qs in ASKED.items() for q in qs])
def test_asked_slot_from_independent_wordings(parser, asked, question):
    intent = parser.run(question)
    assert intent.asked == asked, intent
    assert intent.source == "rules"


@pytest.mark.parametrize("question", [
    "Which drug was never given to the patient?",
    "Which symptom did she deny at the visit?",
    "What diagnosis was ruled out by the angiogram?",
    "Which of these medications was not prescribed?",
    "Which finding was absent on the echocardiogram?",
    "All of these were started except which one?",
    "Which complication didn't occur after surgery?",
    "In the ED, which symptom did he deny?",
    "After the first visit, which test was never repeated?",
    # a completion stem that ends in "no": the option fills in what was absent
    "On arrival to hospital he reported no:",
    "At the follow-up visit the patient had no",
    "The chest X-ray showed no ___",
    "On examination there was no...",
    # an auxiliary: the wh-phrase is the object, the thing shown absent ("which symptom ... no evidence of")
    "Which symptom did the exam show no evidence of?",
])
def test_negated_questions(parser, question):
    assert parser.run(question).negated is True


@pytest.mark.parametrize("question", [
    "Which drug was given for the pain?",
    "Not only the cough but what else did he report at the visit?",
    "What was checked whether or not she fasted?",
    "Because the first drug was not tolerated, which medication was started instead?",
    "Without any pain medication, how does she rate her knee pain?",
    "To rule out a fracture, what imaging did the doctor request?",
    "Since metformin wasn't controlling her sugars, what was added?",
    "Was a rash documented at the visit, yes or no?",
    "Did the fever resolve, or no?",
    "Which drug did she say no to taking with food?",
    # the negation is the finding's, carried by the examination the wh-phrase asks for
    "Which examination showed no evidence of recurrence?",
    "What investigation demonstrated no evidence of recurrence?",
    "Which imaging study found no sign of metastasis?",
    "Which CT revealed no metastases?",
])
def test_affirmed_questions_are_not_negated(parser, question):
    assert parser.run(question).negated is False


@pytest.mark.parametrize("question,role,anchor", [
    ("What was the starting dose of sertraline?", "initial", None),
    ("What inhaler is she using currently?", "current", None),
    ("What was the sodium on 2021-06-03?", "on_date", "2021-06-03"),
    ("Which drug was stopped in March 2019?", "on_date", "March 2019"),
    ("What antibiotic was given prior to the hip surgery?", "before", "the hip surgery"),
    ("Which symptom began after the chemotherapy started?", "after", "the chemotherapy started"),
    ("How did the hemoglobin change between the first and second admission?", "between",
     "the first and second admission"),
    # dates written with a comma stay whole
    ("How did the eGFR change between May 8, 2023 and June 22, 2023?", "between", "May 8, 2023 and June 22, 2023"),
    ("What happened to the weight from Jan 3, 2020 to Feb 9, 2021, and why?", "between",
     "Jan 3, 2020 to Feb 9, 2021"),
    ("Between the biopsy and the surgery, what changed?", "between", "the biopsy and the surgery"),
    ("What was the final diagnosis?", "last", None),
    ("Which event happened first?", "first", None),
    ("Which drug was given for the pain?", "none", None),
])
def test_time_role_and_anchor(parser, question, role, anchor):
    intent = parser.run(question)
    assert (intent.time_role, intent.anchor) == (role, anchor), intent


def test_order_question_keeps_its_direction_when_a_date_is_named(parser):
    intent = parser.run("Of the symptoms reported in May 2020, which one appeared last?")
    assert (intent.asked, intent.time_role) == ("order", "last")


@pytest.mark.parametrize("question,experiencer,relative", [
    ("What cancer did his father have?", "family", "father"),
    ("Which condition runs in her maternal aunt?", "family", "maternal aunt"),
    ("What is recorded in the family history?", "family", None),
    ("Which cancers occurred on the paternal side?", "family", None),
    ("Which medication does her husband take?", "other", None),
    ("Which medication does she take for migraine?", "patient", None),
])
def test_experiencer(parser, question, experiencer, relative):
    intent = parser.run(question)
    assert (intent.experiencer, intent.relative) == (experiencer, relative), intent


def test_entities_are_typed_by_the_dictionaries(parser):
    intent = parser.run("Was metformin stopped because of lactic acidosis before the CT scan, and what was the HbA1c?")
    types = {e.text.lower(): e.type for e in intent.entities}
    assert types.get("metformin") == "drug"
    assert types.get("lactic acidosis") == "problem"
    assert types.get("ct scan") == "procedure"
    assert types.get("hba1c") == "test"


def test_entities_leave_out_names_and_the_asked_category(parser):
    intent = parser.run("Which medication did Gerald's cardiologist add for the atrial fibrillation?")
    texts = [e.text.lower() for e in intent.entities]
    assert "atrial fibrillation" in texts
    assert not any("gerald" in t for t in texts)
    assert "medication" not in texts  # what the question asks for, not something it names


def test_entities_from_class_nouns_brackets_and_context(parser):
    intent = parser.run("How many cycles of FOLFIRINOX did he get after the pancreatic head lesion was found?")
    by_text = {e.text: e.type for e in intent.entities}
    assert by_text.get("FOLFIRINOX") == "drug"  # unknown to the dictionaries, typed by 'cycles of'
    assert by_text.get("pancreatic head lesion") == "problem"
    intent = parser.run("Why was the tacrolimus (TAC) dose held?")
    assert {e.text: e.type for e in intent.entities}.get("TAC") == "drug"


@pytest.mark.parametrize("question,test", [
    ("Of all CA 15-3 results in the record, the largest was:", "CA 15-3"),
    ("Looking at the anti-Xa readings, which was out of range?", "anti-Xa"),
    ("Which of the ferritin measurements was the lowest?", "ferritin"),
])
def test_the_words_before_a_result_noun_name_the_test(parser, question, test):
    assert {e.text: e.type for e in parser.run(question).entities}.get(test) == "test"


@pytest.mark.parametrize("question,drug", [
    ("At this visit, what lisinopril dose was prescribed to get her HTN under better control?", "lisinopril"),
    ("What metoprolol dosage was she discharged on?", "metoprolol"),
    ("Which furosemide regimen did he follow at home?", "furosemide"),
    ("What prednisone strength was dispensed?", "prednisone"),
])
def test_a_name_before_an_attribute_noun_is_the_entity_asked_about(parser, question, drug):
    """'what lisinopril dose' asks the dose of lisinopril; 'which antibiotic' asks for a kind of answer."""
    assert {e.text: e.type for e in parser.run(question).entities}.get(drug) == "drug"
    assert not parser.run("Which antibiotic was given?").entities


def test_typed_mentions_give_spans_and_types(parser):
    text = "Started metformin for type 2 diabetes; creatinine pending."
    got = {text[a:b].lower(): t for a, b, t in parser.typed_mentions(text)}
    assert got.get("metformin") == "drug" and got.get("creatinine") == "test"
    assert any(t == "problem" and "diabetes" in k for k, t in got.items())


def test_relatives_are_entities(parser):
    intent = parser.run("Which disease did her grandmother die of?")
    assert {"text": "grandmother", "type": "relative"} in [e.model_dump() for e in intent.entities]


def test_options_decide_a_bare_what_question(parser):
    dates = {"A": "March 3, 2020", "B": "April 9, 2020", "C": "June 1, 2021", "D": "July 2021"}
    assert parser.run("What about the second infusion?", dates).asked == "date"
    doses = {"A": "5 mg", "B": "10 mg", "C": "20 mg", "D": "40 mg"}
    assert parser.run("Which amount of rosuvastatin?", doses).asked == "dose"
    labs = {"A": "4.1 mmol/L", "B": "5.2 mmol/L", "C": "3.3 mmol/L"}
    assert parser.run("What about the value at discharge?", labs).asked == "test_result"
    drugs = {"A": "Rosuvastatin 10 mg", "B": "Atorvastatin 40 mg", "C": "Pravastatin 20 mg"}
    assert parser.run("Which statin was chosen?", drugs).asked == "value"  # options name drugs: which one


def test_an_explicit_question_cue_beats_the_options(parser):
    stages = {"A": "Stage 1 (T1 N0)", "B": "Stage 2 (T2 N0)", "C": "Stage 3 (T3 N1)"}
    assert parser.run("How was the tumour staged after surgery?", stages).asked == "value"
    assert parser.run("Why was the dose lowered?", {"A": "5 mg", "B": "10 mg"}).asked == "reason"


def test_bad_input_is_a_clear_error(parser):
    with pytest.raises(InputError, match="empty question"):
        parser.run("   ")
    with pytest.raises(InputError, match="too long"):
        parser.run("why " * 600)
    with pytest.raises(InputError, match="at least two options"):
        parser.run("Which drug?", {"A": "aspirin"})


def test_cue_resource_is_versioned():
    from agent.resources import load

    cues = load("intent_cues")
    assert cues["version"] and cues["sources"]


# -- the LLM path ------------------------------------------------------------------------------------------------
class FakeLLM:
    """Stands in for agent.llm.LLM: returns ``reply`` (a dict, a raw string, or an exception to raise)."""

    name = "fake"
    model = "fake"
    context_tokens = 4096

    def __init__(self, reply, finish_reason="stop"):
        self.reply = reply
        self.finish_reason = finish_reason
        self.calls = []

    def chat(self, messages, json_schema=None, max_tokens=512, temperature=0.0, seed=0):
        self.calls.append({"messages": messages, "json_schema": json_schema, "max_tokens": max_tokens})
        if isinstance(self.reply, Exception):
            raise self.reply
        text = self.reply if isinstance(self.reply, str) else json.dumps(self.reply)
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        return LLMResult(text=text, parsed=parsed if isinstance(parsed, dict) else None, prompt_tokens=10,
                         completion_tokens=10, latency_s=0.01, model="fake", finish_reason=self.finish_reason)


QUESTION = "What was the initial dose of lisinopril?"
GOOD = {"asked": "dose", "entities": [{"text": "lisinopril", "type": "drug"}, {"text": "aspirin", "type": "drug"}],
        "time_role": "initial", "anchor": None, "experiencer": "patient", "relative": None, "negated": False,
        "relations": ["start"]}


def test_llm_output_becomes_the_intent_with_source_llm(parser):
    llm = FakeLLM(GOOD)
    p = IntentParser(llm=llm)
    opts = {"A": "5 mg", "B": "10 mg"}
    intent = p.run(QUESTION, opts)
    assert intent.source == "llm" and intent.asked == "dose" and intent.time_role == "initial"
    assert [e.text for e in intent.entities] == ["lisinopril"]  # 'aspirin' is not in the question: dropped
    call = llm.calls[0]
    assert call["json_schema"] == intent_schema()
    assert call["messages"][0]["content"] == SYSTEM_PROMPT  # fixed instructions first (prefix cache)
    assert QUESTION in call["messages"][-1]["content"] and "B) 10 mg" in call["messages"][-1]["content"]
    assert p.stats == {"llm": 1, "rules": 0, "llm_failed": 0}


def test_llm_person_names_are_not_relatives():
    reply = {**GOOD, "entities": [{"text": "Andrea", "type": "relative"}, {"text": "mother", "type": "relative"}],
             "experiencer": "family", "relative": "mother"}
    intent = IntentParser(llm=FakeLLM(reply)).run("Which drug did Andrea's mother take?")
    assert [e.text for e in intent.entities] == ["mother"]
    assert (intent.experiencer, intent.relative) == ("family", "mother")


@pytest.mark.parametrize("role,anchor,expected", [("none", "none", None), ("after", "null", None),
                                                   ("none", "the surgery", None), ("after", "the surgery", "the surgery")])
def test_llm_anchor_goes_with_a_time_role(role, anchor, expected):
    intent = IntentParser(llm=FakeLLM({**GOOD, "time_role": role, "anchor": anchor})).run(QUESTION)
    assert intent.source == "llm" and intent.anchor == expected


def test_worked_examples_in_the_prompt_are_valid_intents():
    from agent.intent import EXAMPLES

    jsonschema = pytest.importorskip("jsonschema")
    for question, answer in EXAMPLES:
        jsonschema.validate(answer, intent_schema())
        assert Intent(**answer).asked != "other" and question.endswith("?")


@pytest.mark.parametrize("reply,finish", [
    (LLMUnavailableError("LLM server at http://x timed out after 300s"), "stop"),
    (TimeoutError("read timed out"), "stop"),
    ("{not json", "stop"),
    ('{"asked": "dose", "entities": [', "length"),  # cut off by max_tokens
    ({**GOOD, "asked": "banana"}, "stop"),  # schema mismatch
    ({**GOOD, "entities": "lisinopril"}, "stop"),
    (["dose"], "stop"),  # JSON, but not an object
])
def test_any_llm_failure_falls_back_to_the_rules(parser, reply, finish):
    p = IntentParser(llm=FakeLLM(reply, finish))
    intent = p.run(QUESTION)
    assert intent.source == "rules"
    assert intent == parser.rules(QUESTION)
    assert p.stats["llm_failed"] == 1 and p.stats["rules"] == 1


def test_schema_is_the_intent_without_source():
    schema = intent_schema()
    assert set(schema["required"]) == set(Intent.model_fields) - {"source"}
    assert schema["properties"]["asked"]["enum"] == list(Intent.model_fields["asked"].annotation.__args__)
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(GOOD, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**GOOD, "source": "llm"}, schema)


@pytest.mark.slow
def test_packaged_small_model_returns_valid_intents():
    from agent.llm import make_llm

    llm = make_llm("local", "qwen2.5-0.5b")
    try:
        p = IntentParser(llm=llm)
        questions = [
            ("Which drug was NOT given to the patient?", {"A": "aspirin", "B": "heparin", "C": "clopidogrel"}),
            ("When was the knee MRI done?", None),
            ("What was the highest creatinine after surgery?", None),
        ]
        for q, opts in questions:
            intent = p.run(q, opts)
            assert isinstance(intent, Intent)
            assert intent.source == "llm", f"the model's output fell back to the rules for {q!r}"
            qtoks = q.lower()
            assert all(any(w in qtoks for w in e.text.lower().split()) for e in intent.entities)
        assert p.stats["llm"] == 3
        q, opts = questions[0]
        n = llm.count_tokens("\n".join(m["content"] for m in p.messages(q, opts)))
        assert n < 350, f"prompt (instructions, worked examples, question, options) grew to {n} tokens"
    finally:
        llm.close()


# -- the evaluation script's scoring (evals.intent) ---------------------------------------------------------------
def test_wilson_interval_matches_known_values():
    from evals.intent import wilson

    lo, hi = wilson(5, 10)
    assert (round(lo, 3), round(hi, 3)) == (0.237, 0.763)
    lo, hi = wilson(10, 10)
    assert hi == 1.0 and round(lo, 3) == 0.722
    assert wilson(0, 0) == (0.0, 1.0)


def test_entity_match_is_lenient_on_content_words_and_one_to_one():
    from evals.intent import match_entities

    assert match_entities(["systolic murmur"], ["systolic ejection murmur"]) == 1
    assert match_entities(["the CT scan", "CT"], ["CT scan"]) == 1  # each gold entity matches once
    assert match_entities(["aspirin"], ["warfarin"]) == 0


def test_labels_are_valid_intents_and_reproduce_the_seeded_draw():
    from evals.intent import DEV_SETS, LABELS, draw_sample, load_labels

    items = load_labels(LABELS)
    assert {(i["set"], i["split"]) for i in items} == {(s, sp) for s in DEV_SETS for sp in ("tune", "test")}
    if not all(p.is_file() for p in DEV_SETS.values()):
        pytest.skip("a dev set is missing (../shared/data): the draw cannot be redone")
    drawn = draw_sample()
    assert [(d["set"], d["id"], d["split"], d["question"]) for d in drawn] == [
        (i["set"], i["id"], i["split"], i["question"]) for i in items]


@pytest.mark.parametrize("question, relations", [
    ("Which drug replaced the medication that caused the akathisia?", {"replace", "cause"}),
    ("What was lisinopril switched to after the dry cough?", {"replace"}),
    ("Name the successor to the agent blamed for the rash.", {"replace", "cause"}),
    ("Why was metformin discontinued?", {"stop"}),
    ("Which side effect made them take her off amiodarone?", {"cause", "stop"}),
    ("How many days after starting doxycycline did the photosensitivity develop?", {"start", "onset"}),
    ("What was the lag between the first dose of ciprofloxacin and the onset of tendinitis?", {"start", "onset"}),
    ("By how much was the furosemide dose increased?", {"change"}),
    ("What was the hemoglobin on admission?", set()),
])
def test_relations_are_the_events_the_question_names(parser, question, relations):
    assert set(parser.run(question).relations) == relations


@pytest.mark.parametrize("question, onset", [
    ("How many days after starting lithium did the tremor emerge?", True),
    ("When did the rash emerge?", True),
    ("How long after the first dose was the emergence of delirium noted?", True),
    ("Which symptom emerged after the cisplatin?", True),
    ("How many days separated the emergency banding from the second session?", False),
    ("What was given in the emergency department?", False),
    ("When was the emergency laparotomy done?", False),
])
def test_an_emergency_setting_is_no_onset(parser, question, onset):
    """'emergency' names where or how urgently a thing was done; only 'emerge' and its forms tell an onset."""
    assert ("onset" in parser.run(question).relations) is onset


@pytest.mark.parametrize("question", ["How many puffs of albuterol does she take?", "How many tablets of metformin a day?",
                                      "How many milligrams of furosemide does he take?"])
def test_how_many_of_a_dose_unit_asks_a_dose(parser, question):
    assert parser.run(question).asked == "dose"
