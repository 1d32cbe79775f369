"""Multi-step answers resolved in code (agent.chain) over hand-written notes: the passage dated by the question's
later date, a dose history, the drug that replaced another, adverse event -> drug -> indication."""
from __future__ import annotations

import datetime as dt

import pytest

from clinqa.records import Patient

NOTES = {
    "n0": ("2021-01-05", "Radiology report\nCT chest of 5 January 2021.\n"
                         "Impression: a 4.1 cm mass in the right upper lobe with hilar adenopathy.\n"),
    "n1": ("2021-01-20", "Clinic note\nSertraline 50 mg once daily was started on 20 January 2021 for depression.\n"
                         "Ramipril 5 mg daily was started on 2021-01-20 for hypertension.\n"),
    "n2": ("2021-02-25", "Clinic note\nShe describes muscle cramps in both calves for the past 10 days.\n"
                         "Atorvastatin 40 mg daily was started on 2021-02-01 for hypercholesterolaemia.\n"
                         "Mood still low, so the sertraline dose was raised from 50 mg to 100 mg daily.\n"),
    "n3": ("2021-03-10", "Clinic note\nPersistent dry cough since March 2 2021, attributed to ramipril.\n"
                         "Ramipril was replaced by candesartan 8 mg daily because of the cough.\n"
                         "Medications: sertraline 100 mg daily, candesartan 8 mg daily, atorvastatin 40 mg daily.\n"),
    "n4": ("2021-04-15", "Radiology report\nFollow-up CT chest.\n"
                         "Impression: the right upper lobe mass has decreased to 2.3 cm; no new nodules.\n"),
}


@pytest.fixture(scope="module")
def qa(notes_qa):
    return notes_qa(Patient("p1", "Ann Lee", "1960-01-01"), NOTES)


def _computed(ans, kind):
    return [f for f in ans.facts_used if f.kind == kind]


def _cites_exact(qa, ans, pid="p1"):
    notes = qa.tools.notes(pid)
    assert ans.citations
    for c in ans.citations:
        assert notes[c.note_id].text[c.start:c.end] == c.quote


def test_find_dates_month_names_ending_in_ordinal_letters():
    from agent.understand import find_dates

    assert [d for d, _ in find_dates("on August 15, 2019 and 1st August 2019")] == [dt.date(2019, 8, 15), dt.date(2019, 8, 1)]


def test_later_study_answered_from_the_passage_of_the_later_date(qa):
    opts = {"A": "a 4.1 cm mass in the right upper lobe", "B": "mass decreased to 2.3 cm", "C": "a new pleural effusion",
            "D": "hilar adenopathy"}
    q = "The CT chest of January 5, 2021 was followed by a follow-up CT on April 15, 2021. What did the later study show?"
    ans = qa.ask("p1", q, options=opts, allow_abstain=False)
    assert ans.choice == "B" and _computed(ans, "anchored")
    _cites_exact(qa, ans)
    q2 = "The CT chest of January 5, 2021 was followed by a follow-up CT on April 15, 2021. What did the earlier study show?"
    assert qa.ask("p1", q2, options={k: v for k, v in opts.items() if k != "D"}, allow_abstain=False).choice == "A"


def test_dose_history_compared_in_code(qa):
    opts = {"A": "Reduced from 100 mg to 50 mg", "B": "Increased from 50 mg to 100 mg", "C": "Unchanged at 50 mg",
            "D": "Increased from 50 mg to 200 mg", "E": "Stopped after starting at 50 mg"}
    ans = qa.ask("p1", "How did the dose of sertraline change after it was started?", options=opts, allow_abstain=False)
    assert ans.choice == "B"
    c = _computed(ans, "dose_path")[0]
    assert c.value["start"] == 50 and c.value["changed_to"] == 100 and c.value["trend"] == "up"
    _cites_exact(qa, ans)


def test_replacing_drug_from_the_switch_sentence(qa):
    opts = {"A": "ramipril", "B": "candesartan", "C": "atorvastatin", "D": "sertraline"}
    ans = qa.ask("p1", "Which drug replaced the medication that caused the dry cough?", options=opts, allow_abstain=False)
    assert ans.choice == "B"
    c = _computed(ans, "replacement")[0]
    assert c.value["old"] == "A" and c.value["new"] == "B"
    _cites_exact(qa, ans)


def test_adverse_event_to_drug_to_indication(qa):
    # cramps since ~2021-02-15; the last medication started before that is atorvastatin (2021-02-01)
    opts = {"A": "depression", "B": "hypertension", "C": "hypercholesterolaemia", "D": "a urinary tract infection"}
    q = "The patient developed muscle cramps after a new medication was started. What was that medication prescribed for?"
    ans = qa.ask("p1", q, options=opts, allow_abstain=False)
    assert ans.choice == "C"
    c = _computed(ans, "indication")[0]
    assert c.value["onset"] == "2021-02-15" and c.value["started"] == "2021-02-01"
    _cites_exact(qa, ans)


def test_resolvers_stay_quiet_on_other_question_shapes(qa):
    from agent.chain import chain_answers
    from agent.understand import QuestionAnalyzer

    a = QuestionAnalyzer().run("Which medication was started for depression?",
                               {"A": "sertraline", "B": "ramipril"}, True)
    assert [c for c in chain_answers(qa.tools, "p1", a) if c.documented] == []


def test_denied_symptom_is_the_negated_mention_not_an_unmentioned_one(notes_qa):
    qa = notes_qa(Patient("p2", "Eva Roth", "1970-01-01"), {
        "a0": ("2022-05-01", "Admission note\nShe reports a dry cough and fatigue for two weeks.\n"
                             "She denies dysuria. The left lung showed an infiltrate, ruling out a lung abscess.\n")})
    opts = {"A": "dry cough", "B": "dysuria", "C": "fatigue", "D": "achilles tendinopathy",
            "F": "Question cannot be answered with provided documents"}
    ans = qa.ask("p2", "Which symptom did the patient explicitly deny at admission?", options=opts, allow_abstain=True)
    assert ans.choice == "B" and not ans.abstained
    opts2 = {"A": "dry cough", "B": "pulmonary infiltrate", "C": "lung abscess", "D": "achilles tendinopathy",
             "F": "Question cannot be answered with provided documents"}
    ans2 = qa.ask("p2", "Which of the following was ruled out?", options=opts2, allow_abstain=True)
    assert ans2.choice == "C"  # "... lung, ruling out a lung abscess": the phrase's own word is negated


def test_same_day_starts_split_by_the_note_that_links_drug_and_event(notes_qa):
    qa = notes_qa(Patient("p3", "Ida Berg", "1940-01-01"), {
        "b0": ("2022-02-26", "Clinic note\nCiprofloxacin 500 mg twice daily was started on 02/26/2022 for a urinary "
                             "tract infection.\nPregabalin 75 mg twice daily was started on 02/26/2022 for neuropathic pain.\n"),
        "b1": ("2022-03-19", "Clinic note\nShe c/o pain and swelling of the right Achilles tendon for the past 15 days.\n"),
        "b2": ("2022-05-25", "Medication list\nCiprofloxacin - stopped Mar 19, 2022 (Achilles tendinopathy)\n")})
    opts = {"A": "glaucoma", "B": "a urinary tract infection", "C": "neuropathic pain"}
    q = "The patient developed Achilles tendinopathy after a new medication was started. What was that medication prescribed for?"
    ans = qa.ask("p3", q, options=opts, allow_abstain=False)
    assert ans.choice == "B" and _computed(ans, "indication")


CYCLE_NOTES = {
    "c1": ("2022-01-10", "Oncology note\nChemotherapy with FOLFOX was started today (cycle 1).\n"),
    "c2": ("2022-01-24", "Oncology note\nCycle 2 of FOLFOX was administered today.\n"),
    "c3": ("2022-03-01", "Oncology letter\nShe has completed 4 cycles of FOLFOX. Cycle 5 of FOLFOX is planned for March 7.\n"
                         "Cycle 6 of FOLFOX was postponed because of neutropenia.\n"),
    "c4": ("2022-03-02", "Radiology report\nExamination: Abdominal ultrasound\nDate of examination: 2022-03-02\n"
                         "Findings: The liver shows a new 2 cm lesion.\n"),
    "c5": ("2022-03-02", "Radiology report\nExamination: CT of the chest\nDate of examination: 2022-03-02\n"
                         "Findings: No evidence of pulmonary metastases.\n"),
    "c6": ("2022-06-15", "Radiology report\nExamination: Follow-up CT of the chest\nDate of examination: 2022-06-15\n"
                         "Findings: A new 8 mm nodule, suspicious for pulmonary metastases.\n"),
}


@pytest.fixture(scope="module")
def onc(notes_qa):
    return notes_qa(Patient("p4", "Lena Hart", "1958-01-01"), CYCLE_NOTES)


def test_cycle_count_is_the_highest_cycle_given_not_planned_or_postponed(onc):
    opts = {"A": "2", "B": "3", "C": "4", "D": "5", "E": "6"}
    ans = onc.ask("p4", "How many cycles of FOLFOX did the patient receive?", options=opts, allow_abstain=False)
    assert ans.choice == "C"  # "completed 4 cycles": cycles 3 and 4 have no note of their own; 5 planned, 6 postponed
    [c] = _computed(ans, "cycles")
    assert c.value["count"] == 4
    _cites_exact(onc, ans, "p4")


def test_examination_matched_by_exam_and_date_and_negation(onc):
    opts = {"A": "abdominal ultrasound on March 2, 2022", "B": "CT of the chest on March 2, 2022",
            "C": "follow-up CT of the chest on June 15, 2022"}
    ans = onc.ask("p4", "Which examination showed no evidence of pulmonary metastases?", options=opts, allow_abstain=False)
    assert ans.choice == "B" and _computed(ans, "exam_finding")  # not C: that report describes metastases
    ans = onc.ask("p4", "Which examination showed a new liver lesion?", options=opts, allow_abstain=False)
    assert ans.choice == "A"  # same date as B: the report's heading names the exam
    _cites_exact(onc, ans, "p4")


ONSET_NOTES = {
    "o0": ("2021-01-04", "Clinic note\nShe reports a pruritic rash on both arms for the past 3 days, after gardening.\n"),
    "o1": ("2021-02-16", "Discharge letter\nMetoclopramide 10 mg three times daily was started on 02/16/2021 for nausea.\n"
                         "She presents c/o weakness of the right arm for the past 14 days.\n"),
    "o2": ("2021-03-19", "Outpatient progress note\nShe reports restlessness with an inability to sit still since 03/04/2021.\n"
                         "She presents c/o weakness of the right arm for the past 14 days.\n"
                         "Metoclopramide was switched to domperidone because of metoclopramide-induced akathisia.\n"),
}


def test_onset_found_through_the_note_that_links_drug_and_event(notes_qa):
    qa = notes_qa(Patient("p5", "Mia Falk", "1950-01-01"), ONSET_NOTES)
    opts = {"A": "17 days", "B": "14 days", "C": "16 days", "D": "31 days", "E": "4 weeks"}
    q = "How many days after starting metoclopramide did the akathisia begin?"
    ans = qa.ask("p5", q, options=opts, allow_abstain=False)
    # "restlessness ... since 03/04/2021" (lay words, in the note that links drug and event), not the sentence
    # copied forward from the discharge letter though it stands nearer (17 days), nor the diagnosis's note date (31)
    assert ans.choice == "C"
    [c] = _computed(ans, "onset_interval")
    assert c.value["days"] == 16
    _cites_exact(qa, ans, "p5")
    q2 = "How many days after starting metoclopramide did the rash begin?"
    ans2 = qa.ask("p5", q2, options={"A": "2 days", "B": "16 days", "C": "43 days"}, allow_abstain=False)
    assert not [c for c in _computed(ans2, "onset_interval") if c.documented]  # the January rash predates the drug


ORDER_NOTES = {
    "r0": ("2022-05-22", "Radiology report\nExamination: Bone scintigraphy\nDate of examination: 2022-05-22\n"
                         "Findings: no scintigraphic evidence of osseous metastases.\n"),
    "r1": ("2022-05-24", "Discharge letter\nOndansetron 8 mg twice daily was started on May 24, 2022 for nausea.\n"
                         "Metoclopramide 10 mg three times daily was started on 2022-06-01 for nausea.\n"),
    "r2": ("2022-06-20", "Clinic note\nShe c/o restlessness with an inability to sit still for the past 10 days.\n"
                         "Metoclopramide was switched to domperidone 10 mg three times daily because of "
                         "metoclopramide-induced akathisia.\n"),
}


def test_order_uses_vocabulary_names_and_onsets_told_in_other_words(notes_qa):
    qa = notes_qa(Patient("p6", "Ada Roth", "1976-03-26"), ORDER_NOTES)
    first = qa.ask("p6", "Which of the following happened first?", allow_abstain=False, options={
        "A": "the start of ondansetron", "B": "the bone scan", "C": "the onset of akathisia"})
    assert first.choice == "B"  # reported as "Bone scintigraphy": the procedure vocabulary names it so
    last = qa.ask("p6", "Which of the following happened last?", allow_abstain=False, options={
        "A": "the onset of akathisia", "B": "the start of domperidone", "C": "the start of metoclopramide"})
    # akathisia began 2022-06-10 ("restlessness ... for the past 10 days" in the note naming it), not on the
    # note's date, the day domperidone was started
    assert last.choice == "B"
    [order] = [c for c in _computed(last, "order")]
    assert "2022-06-10" in order.text


SWITCH_NOTES = {
    "s0": ("2020-01-10", "Admission note\nShe denies dry cough, chest pain and muscle cramps.\n"
                         "Lisinopril 10 mg daily was started on 2020-01-10 for hypertension.\n"
                         "Metformin 500 mg twice daily was started on 2020-01-10 for type 2 diabetes.\n"),
    "s1": ("2020-03-02", "Clinic note\nShe reports muscle cramps after exercise.\n"
                         "Lisinopril was switched to losartan 50 mg daily because of ACE-inhibitor-associated dry cough.\n"),
}


def test_stop_reason_and_purpose_of_a_same_day_start(notes_qa):
    qa = notes_qa(Patient("p7", "Eli Moor", "1955-05-05"), SWITCH_NOTES)
    ans = qa.ask("p7", "Which adverse effect led to the switch away from lisinopril?", allow_abstain=True,
                 options={"A": "muscle cramps", "B": "dry cough", "C": "hypoglycaemia",
                          "F": "Question cannot be answered with provided documents"})
    # the cause named in the switch sentence, although "dry cough" is also denied at admission
    assert ans.choice == "B" and not ans.abstained and _computed(ans, "stop_reason")
    _cites_exact(qa, ans, "p7")
    ans = qa.ask("p7", "Which medication was started on January 10, 2020 for type 2 diabetes?", allow_abstain=False,
                 options={"A": "lisinopril", "B": "metformin", "C": "losartan"})
    assert ans.choice == "B"  # both started that day: the start sentence's purpose decides
    [c] = _computed(ans, "anchored")
    assert c.value["choice"] == "B" and "type 2 diabetes" in c.text


DOSE_NOTES = {
    "d0": ("2020-01-13", "Clinic note\nInsulin aspart 4 units with meals was started on 2020-01-13 for prandial control.\n"
                         "Insulin glargine 10 units at bedtime was started on 2020-01-13 for basal glucose control.\n"
                         "Budesonide/formoterol 160/4.5 mcg one inhalation twice daily was started on 2020-01-13 for asthma.\n"),
    "d1": ("2020-02-17", "Clinic note\nThe dose of insulin glargine was increased from 10 units to 16 units at bedtime.\n"
                         "Because of nocturnal symptoms, the dose of budesonide/formoterol was increased from 160/4.5 mcg "
                         "one inhalation to 160/4.5 mcg two inhalations twice daily.\n"),
}


def test_dose_changes_of_multiword_drugs_and_inhalation_counts(notes_qa):
    qa = notes_qa(Patient("p8", "Ivo Lind", "1949-09-09"), DOSE_NOTES)
    ans = qa.ask("p8", "How did the dose of insulin glargine change after it was started?", allow_abstain=False, options={
        "A": "Increased from 10 units to 16 units", "B": "Increased from 4 units to 16 units",
        "C": "Reduced from 16 units to 10 units", "D": "Stopped after starting at 10 units"})
    assert ans.choice == "A"  # the glargine dose, not insulin aspart's 4 units
    ans = qa.ask("p8", "How did the dose of budesonide/formoterol change after it was started?", allow_abstain=False, options={
        "A": "Reduced from 160/4.5 mcg two inhalations to 160/4.5 mcg one inhalation",
        "B": "Unchanged at 160/4.5 mcg one inhalation",
        "C": "Increased from 160/4.5 mcg one inhalation to 160/4.5 mcg two inhalations",
        "D": "Increased from 160/4.5 mcg one inhalation to 240/4.5 mcg two inhalations"})
    assert ans.choice == "C"
    [c] = _computed(ans, "dose_path")
    assert c.value["trend"] == "up"
    _cites_exact(qa, ans, "p8")


def test_every_registered_resolver_runs_in_order_exactly_once():
    """A resolver module that is registered but missing from ORDER would never run (and vice versa)."""
    from agent.chain import ORDER, RESOLVERS
    assert sorted(ORDER) == sorted(RESOLVERS) and len(set(ORDER)) == len(ORDER)


# -- the typed queries are chosen by the question's intent, not its wording ------------------------------------
def _documented(tools, pid, question, options, kind, assertions=None):
    from agent.chain import chain_answers
    from agent.understand import QuestionAnalyzer

    a = QuestionAnalyzer().run(question, options, False)
    return [c for c in chain_answers(tools, pid, a, assertions=assertions) if c.documented and c.kind == kind]


@pytest.mark.parametrize("question", [
    "Which drug replaced the medication that caused the dry cough?",
    "What was ramipril switched to?",
    "Name the drug substituted for the one that caused the cough.",
    "The cough-causing medication was changed to which drug?",
])
def test_replacement_query_for_any_wording(qa, question):
    [c] = _documented(qa.tools, "p1", question, {"A": "ramipril", "B": "candesartan", "C": "atorvastatin"}, "replacement")
    assert c.value["new"] == "B"


@pytest.mark.parametrize("question", [
    "Which adverse effect led to the switch away from lisinopril?",
    "Why was lisinopril discontinued?",
    "Lisinopril was stopped because of which problem?",
    "What side effect made them take her off lisinopril?",
])
def test_stop_reason_query_for_any_wording(notes_qa, question):
    qa = notes_qa(Patient("p7", "Eli Moor", "1955-05-05"), SWITCH_NOTES)
    [c] = _documented(qa.tools, "p7", question, {"A": "muscle cramps", "B": "dry cough", "C": "hypoglycaemia"},
                      "stop_reason")
    assert c.value["choice"] == "B"


@pytest.mark.parametrize("question", [
    "How many days after starting metoclopramide did the akathisia begin?",
    "What was the delay in days between the first dose of metoclopramide and the onset of akathisia?",
    "How long after metoclopramide was started did the akathisia appear?",
])
def test_onset_interval_query_for_any_wording(notes_qa, question):
    qa = notes_qa(Patient("p5", "Mia Falk", "1950-01-01"), ONSET_NOTES)
    [c] = _documented(qa.tools, "p5", question, {"A": "17 days", "B": "14 days", "C": "16 days", "D": "31 days"},
                      "onset_interval")
    assert c.value["days"] == 16 and c.value["choice"] == "C"


@pytest.mark.parametrize("question", [
    "How many cycles of FOLFOX did the patient receive?",
    "What number of FOLFOX courses were administered?",
    "In total, how many rounds of FOLFOX did she complete?",
])
def test_cycle_count_query_for_any_wording(onc, question):
    [c] = _documented(onc.tools, "p4", question, {"A": "2", "B": "3", "C": "4", "D": "5", "E": "6"}, "cycles")
    assert c.value["count"] == 4


@pytest.mark.parametrize("question", [
    "Which examination showed no evidence of pulmonary metastases?",
    "No pulmonary metastases were demonstrated on which study?",
    "Identify the exam documenting the absence of pulmonary metastases.",
])
def test_exam_finding_query_for_any_wording(onc, question):
    opts = {"A": "abdominal ultrasound on March 2, 2022", "B": "CT of the chest on March 2, 2022",
            "C": "follow-up CT of the chest on June 15, 2022"}
    [c] = _documented(onc.tools, "p4", question, opts, "exam_finding")
    assert c.value["choice"] == "B"


def test_family_follows_the_intent_not_the_wording():
    from agent.graph import tool_family
    from agent.intent import IntentParser
    from agent.understand import QuestionAnalyzer

    p, qa_ = IntentParser(), QuestionAnalyzer()
    cases = {"Which drug replaced the medication that caused the dry cough?": "medication",
             "Why was lisinopril discontinued?": "medication",
             "Which of these happened first?": "timeline",
             "What was the delay between the first dose of X and the rash?": "timeline",
             "Which symptom did the patient deny?": "absence",
             "What number of cycles were given?": "count",
             "What was the highest creatinine?": "labs",
             "What is the patient's occupation?": "lookup"}
    for q, family in cases.items():
        assert tool_family(p.run(q), qa_.run(q, None, True)) == family, q


@pytest.mark.parametrize("options", [
    {"A": "Reduced from 100 mg to 50 mg", "B": "Increased from 50 mg to 100 mg", "C": "Unchanged at 50 mg"},
    {"A": "100 mg -> 50 mg", "B": "50 mg -> 100 mg", "C": "50 mg throughout", "D": "50 mg, then discontinued"},
    {"A": "went from 100 mg to 50 mg", "B": "went from 50 mg to 100 mg", "C": "kept at 50 mg"},
])
def test_dose_path_reads_the_direction_from_words_or_the_order_of_the_doses(qa, options):
    [c] = _documented(qa.tools, "p1", "How was the sertraline dosing adjusted after it was started?", options, "dose_path")
    assert c.value["choice"] == "B"


@pytest.mark.parametrize("options", [
    {"A": "ramipril", "B": "candesartan", "C": "atorvastatin"},
    {"A": "treatment with ramipril", "B": "treatment with candesartan", "C": "treatment with atorvastatin"},
    {"A": "It was replaced by ramipril.", "B": "It was replaced by candesartan.", "C": "It was replaced by atorvastatin."},
])
def test_replacement_finds_the_drug_inside_worded_options(qa, options):
    [c] = _documented(qa.tools, "p1", "Which drug replaced the medication that caused the dry cough?", options,
                      "replacement")
    assert c.value["new"] == "B"


@pytest.mark.parametrize("options, choice", [
    ({"A": "17 days", "B": "14 days", "C": "16 days"}, "C"),
    ({"A": "seventeen days", "B": "fourteen days", "C": "sixteen days"}, "C"),
    ({"A": "about six weeks", "B": "sixteen days", "C": "four weeks"}, "B"),
])
def test_onset_interval_reads_spelled_out_options(notes_qa, options, choice):
    qa = notes_qa(Patient("p5", "Mia Falk", "1950-01-01"), ONSET_NOTES)
    [c] = _documented(qa.tools, "p5", "How many days after starting metoclopramide did the akathisia begin?", options,
                      "onset_interval")
    assert c.value["choice"] == choice


DENIAL_NOTES = {
    "v0": ("2022-03-01", "Clinic note\nThe patient states that he has epigastric pain after meals.\n"
                         "Denies dark, tarry stools. He reports some weight gain over the winter.\n"
                         "[doctor] any trouble swallowing ? [patient] yes , food gets stuck sometimes .\n"),
}


@pytest.mark.parametrize("question", [
    "Which of the following does the patient deny?",
    "Which of these symptoms did he NOT report?",
    "The patient denied which symptom?",
])
def test_absence_matches_a_paraphrased_option_by_its_rarest_word(notes_qa, question):
    qa = notes_qa(Patient("p9", "Ray Dunn", "1961-02-02"), DENIAL_NOTES)
    opts = {"A": "Weight gain", "B": "Food getting stuck", "C": "Pain in the upper abdomen", "D": "Black, tarry stools"}
    [c] = _documented(qa.tools, "p9", question, opts, "absence", qa.agent.verifier.assertions)
    assert c.value["choice"] == "D"  # "dark, tarry stools" denied; "black" never appears in the record


GIVEN_NOTES = {
    "g0": ("2023-02-01", "Clinic note\nMontelukast 10 mg nightly was started. Prednisolone 40 mg daily for five days.\n"),
    "g1": ("2023-02-10", "Clinic note\nMontelukast 10 mg nightly continued. Prednisolone course completed.\n"),
    "g2": ("2023-02-21", "Clinic note\nMontelukast was stopped because of insomnia. Montelukast had been taken for "
                         "three weeks.\n"),
}


@pytest.mark.parametrize("question", ["Which drug was NOT given to the patient?",
                                      "All of these were administered except:",
                                      "Which medication did the patient never receive?"])
def test_a_drug_given_then_stopped_is_not_the_one_never_given(notes_qa, question):
    qa = notes_qa(Patient("p10", "Ute Berg", "1970-07-07"), GIVEN_NOTES)
    opts = {"A": "Montelukast", "B": "Prednisolone", "C": "Omalizumab"}
    assert not _documented(qa.tools, "p10", question, opts, "absence", qa.agent.verifier.assertions)
    assert qa.ask("p10", question, opts, allow_abstain=False).choice == "C"


# Two events of any kind, each dated in its own sentence; the infusions are told apart by their ordinal words, and
# the admission is dated only by its note's date (an estimate: shown, never the answer).
EVENT_NOTES = {
    "e0": ("2023-02-20", "Discharge letter\nRenal biopsy (13.02.2023, left kidney, ultrasound-guided) showed class IV "
                         "lupus nephritis.\nFerric carboxymaltose 750 mg IV given on 19.02.2023; second dose planned.\n"),
    "e1": ("2023-03-01", "Day clinic note\nThe second ferric carboxymaltose infusion (750 mg) was given on 26.02.2023 "
                         "without any reaction.\nLaboratory on 14.03.2023: Hb 11.2 g/dL.\n"),
    "e2": ("2023-05-21", "Ward note\nAdmitted with right lower lobe pneumonia, improving on antibiotics.\n"),
}


@pytest.mark.parametrize("question", [
    "How many days after the first ferric carboxymaltose infusion was the Hb of 11.2 g/dL measured?",
    "How many days passed between the first ferric carboxymaltose infusion and the Hb of 11.2 g/dL?",
    "How long was the interval between the initial ferric carboxymaltose infusion and the Hb of 11.2 g/dL?",
])
def test_event_interval_dates_both_ends_for_any_wording(notes_qa, question):
    qa = notes_qa(Patient("p9", "Ada Roth", "1970-03-03"), EVENT_NOTES)
    opts = {"A": "16 days", "B": "23 days", "C": "24 days", "D": "30 days"}
    [c] = _documented(qa.tools, "p9", question, opts, "event_interval")
    # 19.02 -> 14.03 (the second infusion of 26.02 would give 16 days, option A)
    assert c.value["days"] == 23 and c.value["choice"] == "B"


def test_event_interval_from_a_note_date_is_shown_but_not_the_answer(notes_qa):
    from agent.chain import chain_answers
    from agent.understand import QuestionAnalyzer

    qa = notes_qa(Patient("p9", "Ada Roth", "1970-03-03"), EVENT_NOTES)
    q = "How many days after the renal biopsy was she admitted with pneumonia?"
    a = QuestionAnalyzer().run(q, {"A": "95 days", "B": "97 days", "C": "100 days"}, False)
    got = [c for c in chain_answers(qa.tools, "p9", a) if c.kind == "event_interval"]
    assert got and got[0].value["days"] == 97 and not got[0].documented


def test_ordinal_words_tell_repeated_events_apart(notes_qa):
    qa = notes_qa(Patient("p9", "Ada Roth", "1970-03-03"), EVENT_NOTES)
    assert qa.tools.event_date("p9", "the second ferric carboxymaltose infusion")[0] == dt.date(2023, 2, 26)
    assert qa.tools.event_date("p9", "the first ferric carboxymaltose infusion")[0] == dt.date(2023, 2, 19)


# Repeated events ranked by a number after their noun ("session 2"), with an unranked mention of the next one that
# names the kind in more of the asked words; the ranked sentence tells the event, "today" dates it by its note.
NUMBERED_NOTES = [
    ("Endoscopy report\nIndication: EVL session 2. Session 1 on 10.01.2023 (emergency, 5 bands).\n"
     "Impression: status post EVL; 3 bands placed today (session 2).\n"
     "Plan: next EVL session in 4 weeks (planned 08.03.2023).\n",
     "the second EVL session", "the first EVL session"),
    ("Oncology day clinic\nFOLFOX cycle #2 administered today without toxicity. Cycle #1 was on 10.01.2023.\n"
     "Next FOLFOX cycle planned for 08.03.2023.\n",
     "the second FOLFOX cycle", "the first FOLFOX cycle"),
    ("Infusion clinic\nInfliximab infusion no. 2 given this morning. Infusion no. 1 on 10.01.2023 was uneventful.\n"
     "The next infliximab infusion is planned for 08.03.2023.\n",
     "the 2nd infliximab infusion", "the initial infliximab infusion"),
]


@pytest.mark.parametrize("text, second, first", NUMBERED_NOTES)
def test_a_number_after_the_event_noun_ranks_it(notes_qa, text, second, first):
    pid = f"n{abs(hash(text)) % 10**6}"
    qa = notes_qa(Patient(pid, "Ina Falk", "1960-01-01"), {"r": ("2023-02-08", text)})
    got = qa.tools.event_date(pid, second)
    assert got is not None and got[0] == dt.date(2023, 2, 8) and got[2] == "the day of its note", got
    assert qa.tools.event_date(pid, first)[0] == dt.date(2023, 1, 10)


@pytest.mark.parametrize("text, first, last", [
    ("Follow-up after admission 06/14-06/21/2023 for a first episode of overt hepatic encephalopathy; discharged on "
     "lactulose.", "the ED visit for the first episode of overt hepatic encephalopathy",
     "the discharge after the first episode of overt hepatic encephalopathy"),
    ("Inpatient stay from 14.06.2023 to 21.06.2023 for community-acquired pneumonia with sepsis.",
     "the arrival with community-acquired pneumonia with sepsis", "the discharge after the pneumonia with sepsis"),
    ("Hospitalized 14 June 2023 - 21 June 2023 for cellulitis of the left leg, treated with cefazolin.",
     "the admission for cellulitis of the left leg", "the discharge after cellulitis of the left leg"),
])
def test_a_stay_range_gives_the_end_its_event_names(notes_qa, text, first, last):
    """'admission 06/14-06/21/2023': an arrival or admission is the range's first day, a discharge its last, not the
    date written nearest the complaint's words."""
    pid = f"s{abs(hash(text)) % 10**6}"
    qa = notes_qa(Patient(pid, "Ina Falk", "1960-01-01"), {"f": ("2023-07-01", "Clinic letter\n" + text + "\n")},
                  extract=True)
    assert qa.tools.event_date(pid, first)[0] == dt.date(2023, 6, 14)
    assert qa.tools.event_date(pid, last)[0] == dt.date(2023, 6, 21)


@pytest.mark.parametrize("header, event", [
    ("Examination: CT pulmonary angiography (CTPA) of the chest\nFindings: no pulmonary embolism.", "the CTPA"),
    ("Procedure: Colonoscopy with polypectomy\nFindings: two small sigmoid polyps removed.", "the colonoscopy"),
    ("STUDY: Transthoracic echocardiogram\nLVEF 55 %, no wall motion abnormality.", "the transthoracic echocardiogram"),
])
def test_a_report_header_is_dated_by_its_report(notes_qa, header, event):
    """'Examination: X' heads the report of that one examination: the report's date is the examination's, where a
    later letter that only mentions X gives no date of it."""
    pid = f"h{abs(hash(header)) % 10**6}"
    word = event.split()[-1]
    qa = notes_qa(Patient(pid, "Ina Falk", "1960-01-01"),
                  {"r": ("2023-11-28", "Radiology\n" + header + "\n"),
                   "l": ("2024-01-15", f"Clinic letter\nThe {word} was reviewed with the patient.\n")})
    got = qa.tools.event_date(pid, event)
    assert got is not None and got[0] == dt.date(2023, 11, 28) and got[2] == "the date of its report", got


def test_an_assessment_heading_is_no_report_header(notes_qa):
    qa = notes_qa(Patient("h0", "Ina Falk", "1960-01-01"),
                  {"a": ("2023-11-28", "Ward note\nAssessment: community-acquired pneumonia, improving.\n")})
    assert qa.tools.event_date("h0", "the community-acquired pneumonia")[2] == "note date"


@pytest.mark.parametrize("text", ["Haloperidol dose 2 mg at night.", "Cycle 2.5 mg/m2 weekly.",
                                  "Infusion 2 hours long.", "Round 2 tablets twice daily."])
def test_a_measured_amount_after_the_event_noun_is_no_rank(text):
    from agent.tools import _ranks

    assert _ranks(text, "second " + text.split()[1].lower()) == set()


@pytest.mark.parametrize("heading, sentence, event", [
    ("Pulmonology Outpatient Clinic", "Today we administered PCV20 (left deltoid).",
     "PCV20 vaccination in the pulmonology clinic"),
    ("Dermatology Day Unit", "Cryotherapy of the wart was performed today.",
     "cryotherapy of the wart at the dermatology unit"),
    ("Cardiology Department", "Today's transthoracic echo shows an ejection fraction of 55 %.",
     "transthoracic echo in the cardiology department"),
])
def test_the_note_heading_may_tell_where_an_event_happened(notes_qa, heading, sentence, event):
    """The sentence names the thing done, the note's heading where: together they date the event by the note."""
    pid = f"h{abs(hash(sentence)) % 10**6}"
    notes = {"a": ("2023-03-02", f"{heading}\nThe patient was seen for follow-up.\n{sentence}\n"),
             "b": ("2023-05-09", "General Practice\nRoutine visit, blood pressure 128/80 mmHg.\n")}
    qa = notes_qa(Patient(pid, "Ina Falk", "1960-01-01"), notes)
    got = qa.tools.event_date(pid, event)
    assert got is not None and got[0] == dt.date(2023, 3, 2), got
    # the heading only adds where: a thing the sentence does not name is not dated by the heading's words
    assert qa.tools.event_date(pid, "influenza vaccination in the " + heading.split()[0].lower() + " clinic") is None
