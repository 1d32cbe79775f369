"""Verifier checks that need the patient's whole record (the agent's tools), and the event dating they rely on:
each over hand-written notes in several independent wordings."""
from __future__ import annotations

import datetime as dt

import pytest

from clinqa.records import Patient


@pytest.mark.parametrize("notes,question,right,wrong", [
    ({"a": ("2023-05-02", "Clinic note\nHis last hemoglobin A1c was 6.7, which has been his average for about two "
                          "years.\nHe used to be on an insulin pump and had an A1c that at one point was 13.\n")},
     "What has his hemoglobin A1c averaged over the past two years?", "6.7", "13"),
    ({"a": ("2023-05-02", "Discharge summary\nBlood pressure on admission was 182/104 mmHg.\nAt discharge her blood "
                          "pressure was 128/76 mmHg after titration.\n")},
     "What was her blood pressure at discharge?", "128/76 mmHg", "182/104 mmHg"),
    ({"a": ("2023-05-02", "Clinic note\nWeight at the first visit in January: 92 kg.\nAfter six months of semaglutide "
                          "her weight is 85 kg, measured fasting this morning.\n")},
     "What was her fasting weight this morning?", "85 kg", "92 kg"),
])
def test_the_questions_own_words_pick_the_subjects_sentence(notes_qa, notes, question, right, wrong):
    """Two sentences give the subject a value; the one holding the question's qualifying words ("average", "at
    discharge", "fasting") answers it, and the other sentence's value is contradicted."""
    qa = notes_qa(Patient("q1", "Al Moss", "1958-03-03"), notes)
    opts = {"A": right, "B": wrong, "C": "100"}
    ans = qa.ask("q1", question, opts, allow_abstain=False)
    # the other sentence's value belongs to another qualifier: a binding, or (a value "on admission" asked the one "at
    # discharge") a time role
    assert ans.option_checks["B"].startswith(("failed binding", "failed time_role")), ans.option_checks
    assert ans.option_checks["A"] == "verified", ans.option_checks


@pytest.mark.parametrize("listing,event,day", [
    ("Apixaban | 2.5 mg | PO | twice daily | secondary prevention; since 17.05.2024 (5 mg BID from 23.02.2024 to "
     "16.05.2024)", "first dose of apixaban 2.5 mg twice daily", dt.date(2024, 5, 17)),
    ("Metformin 1000 mg twice daily; empagliflozin 10 mg daily added 03.03.2023 (metformin 500 mg from 01.01.2022)",
     "empagliflozin 10 mg daily", dt.date(2023, 3, 3)),
    ("Bisoprolol 5 mg daily, 12.01.2022 (2.5 mg from 10.10.2021); torasemide 10 mg since 02.02.2022",
     "torasemide 10 mg", dt.date(2022, 2, 2)),
])
def test_an_event_is_dated_by_its_rarest_word(notes_qa, listing, event, day):
    """Of several dates in one line, the event's is the one nearest its most distinctive word (the drug), not one
    next to a dose unit it shares with the other dates."""
    other = ("Clinic note\nPantoprazole 40 mg daily.\nAtorvastatin 20 mg daily.\nVitamin D 1000 IU daily.\n"
             "Paracetamol 500 mg twice daily as needed.\nFolic acid 5 mg once weekly.\n")
    qa = notes_qa(Patient("q2", "Bo Lind", "1950-01-01"), {"o": ("2024-07-01", other),
                                                          "m": ("2024-08-01", "Medication list\n" + listing + "\n")})
    got = qa.tools.event_date("q2", event)
    assert got is not None and got[0] == day


@pytest.mark.parametrize("sentence,days", [
    ("He first noticed the calf swelling about a week ago.", 7),
    ("The cough started a month ago.", 30),
    ("Rash for the past two weeks.", 14),
])
def test_relative_onset_reads_a_and_an_as_one(sentence, days):
    from agent.tools import relative_onset

    note = dt.date(2023, 10, 29)
    assert relative_onset(sentence, note) == note - dt.timedelta(days=days)


@pytest.mark.parametrize("note,event,day", [
    ("Progress note, hospital day 3 (admitted 05/19/2023 via the ED).\n28 y/o F admitted with RLL pneumonia, "
     "improving.\n", "she was admitted with pneumonia", dt.date(2023, 5, 19)),
    ("Ward round\nAdmission: 19.05.2023 through the emergency department.\nCurrently treated for pneumococcal "
     "pneumonia, afebrile.\n", "the admission for pneumonia", dt.date(2023, 5, 19)),
    ("Discharge summary\nHospitalized 19-24 May 2023.\nHe was hospitalized with community-acquired pneumonia and "
     "treated with ceftriaxone.\n", "his hospitalization with pneumonia", dt.date(2023, 5, 19)),
])
def test_an_admission_is_dated_by_the_notes_admission_date(notes_qa, note, event, day):
    """A sentence that tells of the admission without a date of its own is dated by the date its note writes for
    the admission, not by the day the note was written (a progress note is written days later)."""
    qa = notes_qa(Patient("q3", "Cy Hart", "1990-01-01"), {"p": ("2023-05-21", note)}, extract=True)
    got = qa.tools.event_date("q3", event)
    assert got is not None and got[0] == day and "19" in got[1].text, got


@pytest.mark.parametrize("header,question", [
    ("who was treated as an inpatient in our department from 27.02.2024 to 06.03.2024.",
     "How many days elapsed between admission and discharge for the February-March 2024 inpatient stay?"),
    ("hospitalized 27 February to 6 March 2024 for an exacerbation.",
     "How long was the stay from admission to discharge in March 2024, in days?"),
])
def test_a_stay_range_dates_admission_and_discharge(notes_qa, header, question):
    qa = notes_qa(Patient("q4", "Di Holt", "1957-06-19"),
                  {"d": ("2024-03-06", f"Discharge letter\nWe report on Mr. Holt, {header}\nHe improved on NIV.\n"),
                   "c": ("2024-05-16", "Clinic note\nNo exacerbation since discharge.\n")}, extract=True)
    ans = qa.ask("q4", question, {"A": "6 days", "B": "7 days", "C": "8 days", "D": "9 days"}, allow_abstain=False)
    assert ans.choice == "C" and ans.verification.status == "verified", (ans.text, ans.option_checks)


@pytest.mark.parametrize("sentence,negated,stated", [
    ("Further diagnoses: leukopenia, lymphopenia and normocytic anemia in the context of SLE (hemolysis ruled out).",
     "Hemolysis", "Lymphopenia"),
    ("Known problems: atrial fibrillation and heart failure (pulmonary embolism excluded by CTPA).",
     "Pulmonary embolism", "Heart failure"),
    ("Active issues: cellulitis of the left leg and fever (osteomyelitis not found on MRI).",
     "Osteomyelitis", "Cellulitis of the left leg"),
])
def test_a_negation_inside_an_aside_is_the_asides_own(notes_qa, sentence, negated, stated):
    """'lymphopenia and anemia (hemolysis ruled out)': the aside negates what it names, not the list before it."""
    qa = notes_qa(Patient("q5", "Ed Park", "1980-01-01"), {"n": ("2023-05-20", f"Discharge summary\n{sentence}\n")})
    opts = {"A": stated, "B": negated, "C": "Sarcoidosis"}
    stated_as = _forced(qa, "q5", "Which diagnosis was ruled out?", opts, "A")
    assert stated_as.status != "verified" and any(
        f.check == "absence" and f.status == "contradicted" for f in stated_as.findings), stated_as.findings
    assert _forced(qa, "q5", "Which diagnosis was ruled out?", opts, "B").status == "verified"


def _forced(qa, pid, question, options, letter):
    """The verifier's verdict on one option forced as the answer, with the citations the agent would give it (as
    in the distractor attack, ``python -m evals.verifier``)."""
    g = qa.agent
    extractive = getattr(g.reasoner, "extractive", g.reasoner)
    s = g.evidence(pid, question, options)
    a, ctx = s["analysis"], s["context"]
    draft = extractive.draft_for(a, ctx, extractive.judge_options(a, ctx), letter)
    return g.verifier.run(draft, ctx, a, s.get("intent"))


def test_an_undated_value_in_a_later_follow_up_is_that_visits_not_the_stays(notes_qa):
    """A follow-up letter months after a stay names the stay's dates, but its own undated lab line is that day's."""
    qa = notes_qa(Patient("q6", "Flo Reed", "1957-06-19"), {
        "d": ("2024-03-06", "Discharge letter\nInpatient from 27.02.2024 to 06.03.2024.\nOn admission: blood "
                            "eosinophils 0.34 x10^9/L (before steroids).\n"),
        "f": ("2024-05-16", "Clinic letter\nFollow-up after his stay from 27.02.2024 to 06.03.2024.\nBlood "
                            "eosinophils 0.29 x10^9/L.\n")})
    ans = qa.ask("q6", "What blood eosinophil count was documented on admission on 27.02.2024?",
                 {"A": "0.29 x10^9/L", "B": "0.34 x10^9/L", "C": "0.18 x10^9/L"}, allow_abstain=False)
    assert ans.option_checks["A"].startswith("failed time_anchor"), ans.option_checks
    assert ans.choice == "B"


@pytest.mark.parametrize("notes,question,right,wrong", [
    ({"ed": ("2023-06-14", "ED physician note\nFirst episode of overt hepatic encephalopathy.\nNeuro: drowsy, oriented "
                           "to person only, asterixis -> West Haven grade 2."
                           "\n\nADDENDUM - 06/15/2023, 11:20\nNow oriented to person and place (West Haven grade 1).\n")},
     "On arrival in the ED on 06/14/2023, how was her hepatic encephalopathy graded?", "West Haven grade 2",
     "West Haven grade 1"),
    ({"f": ("2023-08-24", "Clinic note\nInterval events: second episode on 08/17/2023 - found disoriented. In the ED: "
                          "Glasgow coma scale 13, no infection.\n"),
      "ed": ("2023-06-14", "ED note\nOn arrival: Glasgow coma scale 14, confused.\n")},
     "What was her Glasgow coma scale on 06/14/2023?", "14", "13"),
    ({"d": ("2024-03-06", "Discharge letter\nTreated as an inpatient from 27.02.2024 to 06.03.2024.\n\nFindings on "
                          "admission:\nLaboratory: eosinophils 0.34 x10^9/L, CRP 86 mg/L.\n\nCourse: on "
                          "05.03.2024 eosinophils 0.12 x10^9/L after steroids.\n")},
     "What eosinophil count was documented on 27.02.2024?", "0.34 x10^9/L", "0.12 x10^9/L"),
    ({"x": ("2019-03-10", "Chest X-ray report\nPulmonary venous congestion.\n"),
      "e": ("2019-08-15", "Imaging report\nExamination: follow-up echocardiography\n\nFindings:\nComparison is made "
                          "with the echocardiography of 2019-03-11. The study shows a mildly dilated left ventricle.\n"),
      "e0": ("2019-03-11", "Echocardiography report\nThe study shows a severely dilated left ventricle.\n")},
     "What did the echocardiography on 2019-08-15 show?", "A mildly dilated left ventricle",
     "A severely dilated left ventricle"),
])
def test_an_undated_sentence_tells_of_the_date_its_paragraph_last_wrote(notes_qa, notes, question, right, wrong):
    """An addendum's header date, the episode a paragraph has just dated, or its 'on admission' heading date the
    sentences that follow; a date that names the study compared with does not; the note's own date when the
    paragraph gives no clue."""
    qa = notes_qa(Patient("q7", "Gil Moor", "1967-06-09"), notes)
    opts = {"A": right, "B": wrong, "C": "99"}
    assert _forced(qa, "q7", question, opts, "A").status == "verified"
    wrong_verdict = _forced(qa, "q7", question, opts, "B")
    assert wrong_verdict.status != "verified" and any(
        f.check == "time_anchor" and f.status == "contradicted" for f in wrong_verdict.findings), wrong_verdict.findings


@pytest.mark.parametrize("question", [
    "After the renal ultrasound (05/09/2023), a follow-up ultrasound was performed on 10/04/2023. What were its "
    "findings?",
    "What did the repeat renal ultrasound on 10/04/2023 show, compared with the one of 05/09/2023?",
    "Compared with 05/09/2023, what did the renal ultrasound performed on 10/04/2023 find?",
    "A renal ultrasound on 05/09/2023 was followed by another on 10/04/2023. What did the later study show?",
])
def test_a_question_naming_two_dates_asks_about_its_anchors(notes_qa, question):
    """The date a question compares with is not the date it asks about: the earlier scan's finding is the wrong
    study's, and the question is no order question for the timeline tools to answer."""
    qa = notes_qa(Patient("q9", "Ida Lane", "1944-03-02"), {
        "u1": ("2023-05-09", "Renal ultrasound\nFindings: normal-sized kidneys with increased cortical "
                             "echogenicity.\n"),
        "u2": ("2023-10-04", "Renal ultrasound\nFindings: comparison is made with the renal ultrasound of "
                             "2023-05-09. The study shows unchanged kidney size without new findings.\n")})
    opts = {"A": "Unchanged kidney size", "B": "Increased cortical echogenicity", "C": "New pleural effusion"}
    assert _forced(qa, "q9", question, opts, "A").status == "verified"
    wrong = _forced(qa, "q9", question, opts, "B")
    assert any(f.check == "time_anchor" and f.status == "contradicted" and "2023-10-04" in f.detail
               for f in wrong.findings), wrong.findings
    ans = qa.ask("q9", question, opts, allow_abstain=False)
    assert ans.choice == "A" and not any(r.startswith("lookup:order") for r in ans.route), ans.route


@pytest.mark.parametrize("text,question,right,wrong", [
    ("Exam: metacarpals intact, swelling over the distal radius, likely fracture.\nX-ray: displaced distal radius "
     "fracture and an ulnar styloid fracture.\n", "Besides the radius fracture, what other fracture was found?",
     "An ulnar styloid fracture", "A metacarpal fracture"),
    ("CT abdomen\nLiver: normal in size, the mass is in the right kidney (2 cm, solid).\n", "Where was the mass found?",
     "In the right kidney", "A liver mass"),
    ("Knee MRI shows a tear of the medial meniscus; the cruciate ligaments are intact.\n",
     "What tear did the MRI show?", "A medial meniscus tear", "A ligament tear"),
])
def test_a_site_stated_normal_contradicts_an_abnormality_of_it(notes_qa, text, question, right, wrong):
    """'Metacarpals intact' names the metacarpals, but states them normal: it is no evidence of a metacarpal
    fracture, while the abnormality the note does state still verifies."""
    qa = notes_qa(Patient("q10", "Jo Park", "1980-01-01"), {"e": ("2024-02-02", text)})
    opts = {"A": right, "B": wrong, "C": "A skin rash"}
    assert _forced(qa, "q10", question, opts, "A").status == "verified"
    bad = _forced(qa, "q10", question, opts, "B")
    assert any(f.check == "assertion" and "states it normal" in f.detail for f in bad.findings), [
        (f.check, f.status, f.detail) for f in bad.findings]


@pytest.mark.parametrize("question,right", [
    ("Which structures were intact on the hand exam?", "The metacarpals"),
    ("What was normal on the hand exam?", "Metacarpals intact"),
])
def test_a_normal_finding_asked_for_is_not_contradicted_by_its_own_normal_words(notes_qa, question, right):
    qa = notes_qa(Patient("q11", "Kim Ode", "1980-01-01"), {"e": ("2024-02-02", "Hand exam: metacarpals intact, "
                                                                              "swelling over the distal radius.\n")})
    verdict = _forced(qa, "q11", question, {"A": right, "B": "A wrist fracture", "C": "A skin rash"}, "A")
    assert not any("states it normal" in f.detail for f in verdict.findings), verdict.findings


@pytest.mark.parametrize("text,question,right,wrong", [
    ("Diagnosis: alcohol use disorder.\nCourse\nAlcohol withdrawal on days 2-3 was treated with lorazepam.\nTo "
     "reduce craving, baclofen 5 mg three times daily was started.\n",
     "Which medicine was prescribed to curb her alcohol craving?", "Baclofen", "Lorazepam"),
    ("Complaint: pain in the lower back and both feet.\nMedications\nBack pain: ibuprofen 400 mg as needed.\nFor "
     "the neuropathic symptoms, gabapentin 300 mg at night.\n", "What does she take for her neuropathic pain?",
     "Gabapentin", "Ibuprofen"),
    ("Indication: chest pain.\nImaging\nChest X-ray: right lower lobe consolidation.\nCT angiography: segmental "
     "pulmonary embolism on the right.\n", "What did the chest CT show?", "A pulmonary embolism",
     "A right lower lobe consolidation"),
])
def test_a_clause_naming_the_subject_only_in_part_loses_to_the_sentence_naming_it(notes_qa, text, question, right,
                                                                                  wrong):
    """'Alcohol withdrawal' shares a word with 'alcohol craving' but is not it: the sentence that names the
    subject's rarest word gives another option, so the answer from the partial match is contradicted."""
    qa = notes_qa(Patient("q12", "Lou Mays", "1970-05-05"), {"n": ("2024-03-03", text)})
    opts = {"A": right, "B": wrong, "C": "Sertraline"}
    assert _forced(qa, "q12", question, opts, "A").status == "verified"
    bad = _forced(qa, "q12", question, opts, "B")
    assert bad.status != "verified", [(f.check, f.status, f.detail) for f in bad.findings]


@pytest.mark.parametrize("text,question,right,wrong", [
    ("Medication on admission:\n- Ethinylestradiol/levonorgestrel once daily\nCourse: the combined pill was "
     "stopped. Desogestrel 75 ug once daily was started instead.\n",
     "After her estrogen-containing pill was stopped, which contraceptive was she started on?",
     "Desogestrel 75 ug once daily", "Ethinylestradiol/levonorgestrel once daily"),
    ("Current medications:\n- Simvastatin 40 mg at night\nPlan: simvastatin discontinued because of myalgia; "
     "rosuvastatin 10 mg initiated.\n", "Once simvastatin was discontinued, what statin did he begin?",
     "Rosuvastatin 10 mg", "Simvastatin 40 mg"),
    ("Home medications:\n- Warfarin 5 mg daily\nWarfarin was held before surgery and then apixaban 5 mg twice "
     "daily was commenced.\n", "Warfarin was stopped before surgery; what anticoagulant was started afterwards?",
     "Apixaban 5 mg twice daily", "Warfarin 5 mg daily"),
])
def test_asked_what_was_started_a_list_line_that_starts_nothing_does_not_verify(notes_qa, text, question, right,
                                                                                wrong):
    """A question that names a stop and asks what was started: the admission list line that names the old drug
    says nothing of a start."""
    qa = notes_qa(Patient("q13", "Mo Dent", "1975-07-07"), {"n": ("2024-03-03", text)})
    opts = {"A": right, "B": wrong, "C": "Copper intrauterine device"}
    assert _forced(qa, "q13", question, opts, "A").status == "verified"
    bad = _forced(qa, "q13", question, opts, "B")
    assert bad.status != "verified", [(f.check, f.status, f.detail) for f in bad.findings]


@pytest.mark.parametrize("text,question,right,wrong", [
    ("Varenicline was started on 13.01.2024 at 0.5 mg once daily.\nThe initial 12-week course ended on 06.04.2024; "
     "at his request varenicline was continued for a further 12 weeks.\n", "How did the varenicline course evolve?",
     "Started on 13.01.2024 at 0.5 mg once daily; continued for a further 12 weeks",
     "Started on 13.01.2024 at 0.5 mg once daily; stopped on 06.04.2024 when the initial 12-week course ended"),
    ("Prednisolone 40 mg daily was started on 02.03.2024.\nOn 16.03.2024 the dose was tapered to 20 mg and "
     "prednisolone was continued at that dose.\n", "How was the prednisolone course managed?",
     "Started at 40 mg daily; tapered to 20 mg on 16.03.2024",
     "Started at 40 mg daily; stopped on 16.03.2024 after the taper to 20 mg"),
])
def test_an_answer_saying_a_drug_was_stopped_is_contradicted_where_its_sentence_continues_it(notes_qa, text, question,
                                                                                             right, wrong):
    qa = notes_qa(Patient("q14", "Ned Fox", "1962-04-04"), {"n": ("2024-07-01", text)})
    opts = {"A": right, "B": wrong, "C": "Replaced by nicotine patches"}
    assert _forced(qa, "q14", question, opts, "A").status == "verified"
    bad = _forced(qa, "q14", question, opts, "B")
    assert any(f.check == "time_role" and "continues it" in f.detail for f in bad.findings), [
        (f.check, f.status, f.detail) for f in bad.findings]


@pytest.mark.parametrize("question,right,wrong", [
    ("By how much did the UPCR fall from its highest recorded value to the most recent measurement?", "3.48 g/g",
     "4.28 g/g"),
    ("How much did the UPCR change between 2023-01-10 and 2023-06-20?", "A decrease of 2.68 g/g",
     "An increase of 2.68 g/g"),
    ("By how much did the UPCR rise from its lowest value to the value measured on 2023-06-20?", "0.80 g/g",
     "1.10 g/g"),
])
def test_the_size_of_a_change_is_computed_from_the_series_and_re_derived(notes_qa, question, right, wrong):
    """'By how much did X fall from its highest value to the most recent one': code takes the two ends from the
    dated series, the verifier re-derives their difference; another size (or the opposite direction) is refuted."""
    qa = notes_qa(Patient("q15", "Ola Berg", "1985-08-08"), {
        "a": ("2023-01-10", "Nephrology clinic\nUPCR 3.90 g/g at diagnosis.\n"),
        "b": ("2023-02-14", "Nephrology clinic\nUPCR 4.70 g/g, rising despite treatment.\n"),
        "c": ("2023-04-01", "Nephrology clinic\nUPCR 0.42 g/g on therapy.\n"),
        "d": ("2023-06-20", "Nephrology clinic\nUPCR 1.22 g/g at the latest visit.\n")})
    opts = {"A": right, "B": wrong, "C": "2.40 g/g"}
    ans = qa.ask("q15", question, opts, allow_abstain=False)
    assert ans.choice == "A" and ans.verification.status == "verified", (ans.route, ans.verification.reason)
    assert _forced(qa, "q15", question, opts, "B").status != "verified"
    assert any(f.check == "recompute" and f.status == "supported" for f in ans.verification.findings)


@pytest.mark.parametrize("text,question,absent,present", [
    ("Physical exam\nLungs are clear to auscultation bilaterally. Heart: regular rhythm, 2/6 systolic murmur. "
     "Abdomen: soft, tender in the right lower quadrant.\n", "Which of the following was NOT found on the physical exam?",
     "Wheezes on lung auscultation", ["A systolic murmur", "Right lower quadrant tenderness"]),
    ("Neuro exam\nCranial nerves intact. Left arm weakness, 4/5. Reflexes brisk on the left.\n",
     "Which finding was absent on the neuro exam?", "A cranial nerve palsy", ["Left arm weakness", "Brisk reflexes"]),
])
def test_a_site_stated_normal_documents_the_absence_of_an_abnormality_there(notes_qa, text, question, absent, present):
    qa = notes_qa(Patient("q16", "Pia Holt", "1977-03-03"), {"e": ("2024-04-04", text)})
    opts = {"A": absent, "B": present[0], "C": present[1]}
    assert _forced(qa, "q16", question, opts, "A").status == "verified"
    assert _forced(qa, "q16", question, opts, "B").status != "verified"


@pytest.mark.parametrize("text,question,absent,given", [
    ("Course\nIntravenous cyclophosphamide was discussed as an alternative induction regimen. Rituximab 1 g was given "
     "on 03.02.2024.\n", "Which treatment was discussed but never given?", "Cyclophosphamide", "Rituximab"),
    ("Smoking cessation\nBupropion is contraindicated because of a seizure history. Varenicline was started at 0.5 mg "
     "daily.\n", "Which smoking-cessation drug was NOT used?", "Bupropion", "Varenicline"),
    ("Hepatology round\nA TIPS was considered for refractory ascites. Endoscopic band ligation was performed on "
     "day 2.\n", "Which procedure was not carried out?", "TIPS", "Endoscopic band ligation"),
])
def test_a_thing_only_discussed_is_no_evidence_that_it_was_done(notes_qa, text, question, absent, given):
    qa = notes_qa(Patient("q17", "Rui Sol", "1966-06-06"), {"n": ("2024-03-03", text)})
    opts = {"A": absent, "B": given, "C": "Plasma exchange"}
    assert _forced(qa, "q17", question, opts, "A").status == "verified"
    assert _forced(qa, "q17", question, opts, "B").status != "verified"


@pytest.mark.parametrize("text,question,absent,present", [
    ("ED note\nCough with white sputum, fever. No hemoptysis. Pleuritic chest pain on the left.\n",
     "Which symptom did the patient deny?", "Coughing up blood (hemoptysis)", "Pain in the chest when breathing"),
    ("Exam\nAbdomen soft. No jaundice. Spider naevi on the chest.\n", "Which sign was NOT present?",
     "Yellow skin (jaundice)", "Spider naevi"),
])
def test_a_glossed_option_is_found_by_either_of_its_names(notes_qa, text, question, absent, present):
    qa = notes_qa(Patient("q18", "Sam Ung", "1958-05-05"), {"n": ("2024-03-03", text)})
    opts = {"A": absent, "B": present, "C": "Fever"}
    verdict = _forced(qa, "q18", question, opts, "A")
    assert verdict.status == "verified" and any("stated as negated" in f.detail for f in verdict.findings), [
        (f.check, f.status, f.detail) for f in verdict.findings]


@pytest.mark.parametrize("text,question,right,wrong", [
    ("Physical examination\nEyes: presence of microphthalmia. Red reflex normal bilaterally.\nHeart: regular rhythm, "
     "no murmur.\n", "What eye finding was documented on exam?",
     "Microphthalmia (small-appearing eyes)", "Coloboma (a gap in the iris)"),
    ("Assessment and plan\nRight foot Lisfranc fracture. The plan is to proceed with a right foot ORIF next week.\n"
     "Crutches, non-weight-bearing.\n",
     "What operation is planned for the fracture?", "Open reduction and internal fixation (ORIF) of the right foot",
     "Below-knee amputation (BKA) of the right leg"),
])
def test_an_option_told_two_ways_verifies_by_the_way_the_record_tells_it(notes_qa, text, question, right, wrong):
    qa = notes_qa(Patient("q19", "Tom Vik", "1990-09-09"), {"n": ("2024-03-03", text)})
    opts = {"A": right, "B": wrong, "C": "Nothing abnormal"}
    verdict = _forced(qa, "q19", question, opts, "A")
    assert verdict.status == "verified", [(f.check, f.status, f.detail) for f in verdict.findings]
    assert _forced(qa, "q19", question, opts, "B").status != "verified"


@pytest.mark.parametrize("turns,question,wrong", [
    ("[doctor] so the ct shows a small ureteral stone on the left\n[patient] okay\n[doctor] okay so have you tried "
     "like azo or any of that\n[patient] i just took what i had at home\n",
     "What analgesic was prescribed for the ureteral stone?", "Phenazopyridine (AZO)"),
    ("[doctor] the rash on your arm looks like eczema\n[patient] yeah\n[doctor] and did you ever use a steroid "
     "cream on it\n[patient] i think my mom bought something once\n", "Which cream was used on the eczema?",
     "A steroid cream"),
])
def test_an_unanswered_question_in_a_transcript_verifies_nothing(notes_qa, turns, question, wrong):
    qa = notes_qa(Patient("q20", "Uma Ward", "1994-04-04"), {"t": ("2024-05-05", turns)})
    verdict = _forced(qa, "q20", question, {"A": wrong, "B": "Nothing was given", "C": "Oxycodone"}, "A")
    assert verdict.status != "verified", [(f.check, f.status, f.detail) for f in verdict.findings]


def test_a_bracketed_value_is_no_second_name_of_the_option(notes_qa):
    """'Child-Pugh B (8 points)' is not verified by 'Child-Pugh B' alone when the record scores it 7 points."""
    qa = notes_qa(Patient("q21", "Vi Lund", "1961-01-01"), {"n": ("2024-03-03", "Hepatology\nCirrhosis, Child-Pugh B "
                                                                             "(7 points), MELD 12.\n")})
    opts = {"A": "Child-Pugh B (7 points)", "B": "Child-Pugh B (8 points)", "C": "Child-Pugh C (12 points)"}
    question = "How was her liver function classified?"
    assert _forced(qa, "q21", question, opts, "A").status == "verified"
    assert _forced(qa, "q21", question, opts, "B").status != "verified"


def test_a_computed_order_whose_first_item_several_options_name_verifies_none(notes_qa):
    """An order re-derived as 'sodium' < 'amoxicillin' (an item split off 'mycophenolate sodium'): 'sodium' is
    named by three options, so the order singles out none of them."""
    from agent.tools import Computed
    from agent.verify import Draft

    qa = notes_qa(Patient("q8", "Hal Ross", "1990-02-02"), {
        "a": ("2024-02-29", "Clinic note\nEC mycophenolate sodium 720 mg BID; amoxicillin and clavulanate for 7 days "
                            "from 29.02.2024.\n")})
    opts = {"A": "MMF 500 mg BID, then switched for leukopenia to EC mycophenolate sodium",
            "B": "MMF 500 mg BID, then switched for diarrhea to EC mycophenolate sodium",
            "C": "MMF 1000 mg BID; replaced by azathioprine"}
    q = "Which was the first treatment she received?"
    g = qa.agent
    s = g.evidence("q8", q, opts)
    a, ctx = s["analysis"], s["context"]
    day = dt.date(2024, 2, 29)
    passage = qa.tools.lexical("q8", "mycophenolate sodium amoxicillin", k=1)
    cid = ctx.add_computed(Computed("order", "sodium < amoxicillin", {"items": [
        {"query": "sodium", "name": "sodium", "date": day},
        {"query": "amoxicillin", "name": "amoxicillin", "date": day}]}, passage))
    draft = Draft(text=opts["A"], choice="A", evidence_ids=[cid, *ctx.evidence_of(cid)], computed_answer=True)
    v = g.verifier.run(draft, ctx, a, s.get("intent"))
    assert v.status != "verified" and any("named by other options" in f.detail for f in v.findings), v.findings


@pytest.mark.parametrize("answer,expected", [
    ("The brain MRI before the start of metoclopramide before the dose change of metoprolol", True),
    ("The brain MRI before the dose change of metoprolol before the start of metoclopramide", False),
    ("Metoclopramide was started first, then the brain MRI, then metoprolol was changed", False),
    ("The brain MRI, followed by metoclopramide", None),  # names two of the three dated items: no sequence to compare
])
def test_a_sequence_answer_is_checked_item_by_item(answer, expected):
    """Two options that both open with the first dated event differ in the rest: the whole order decides."""
    from agent.verify import _order_in

    items = [{"query": "brain MRI", "date": dt.date(2021, 2, 11)},
             {"query": "start of metoclopramide", "date": dt.date(2021, 3, 2)},
             {"query": "dose change of metoprolol", "date": dt.date(2021, 4, 9)}]
    assert _order_in(answer, items) is expected


def test_a_sequence_item_is_found_by_its_own_words():
    from agent.verify import _order_in

    items = [{"query": "the staging CT", "date": dt.date(2017, 6, 8)},
             {"query": "the sigmoid resection", "date": dt.date(2017, 6, 12)},
             {"query": "the follow-up CT", "date": dt.date(2017, 9, 27)}]
    assert _order_in("The staging CT, then the sigmoid resection, then the follow-up CT", items) is True
    assert _order_in("The follow-up CT, then the sigmoid resection, then the staging CT", items) is False


@pytest.mark.parametrize("note,question,right,wrong", [
    ("Assessment\nHis past hemoglobin A1c levels have been borderline high, but his most recent level was 8. Glucose "
     "was 180.\n", "What was his most recent HbA1c?", "8", "180"),
    ("Plan\nWe will start him on tamsulosin 0.4 mg once at night, and continue finasteride 5 mg daily.\n",
     "What dose of Flomax was started?", "0.4 mg once at night", "5 mg daily"),
    ("Vitals\nWhen you came in today your blood pressure was 150/70 and your pulse was 88.\n",
     "What was his BP on arrival?", "150/70", "88/70"),
])
def test_the_subject_named_by_another_dictionary_name_binds(notes_qa, note, question, right, wrong):
    """A question may name the subject as the dictionary's other name (an abbreviation, a brand): the clause that
    names it the record's way binds the value to it, and the other values of the sentence still do not."""
    qa = notes_qa(Patient("q20", "Jo Rand", "1966-02-02"), {"n": ("2024-04-02", note)}, extract=True)
    opts = {"A": right, "B": wrong, "C": "none of these"}
    v = _forced(qa, "q20", question, opts, "A")
    assert v.status == "verified", [(f.check, f.status, f.detail) for f in v.findings]
    assert _forced(qa, "q20", question, opts, "B").status != "verified"


@pytest.mark.parametrize("text,subject,binds", [
    ("Hemoglobin A1c 7.9 %.", "HbA1c", True),
    ("A1c was 7.9 today.", "HbA1c", True),
    ("Hemoglobin 12.1 g/dL.", "HbA1c", False),   # an alias names the subject only in full
    ("CT head: no bleed.", "CTPA", False),       # a procedure's dictionary concept is a family, no alias
    ("Deep vein thrombosis of the left leg.", "DVT", True),
])
def test_a_subjects_aliases_name_it_only_in_full(text, subject, binds):
    from agent.claims import build_claim, subject_spans
    from agent.records import Intent, IntentEntity

    claim = build_claim(f"What did the {subject} show?", "something", Intent(asked="value", entities=[
        IntentEntity(text=subject, type="test" if subject != "DVT" else "problem")]))
    assert bool(subject_spans(claim, text, 0, len(text))) is binds


@pytest.mark.parametrize("note,question,right,wrong", [
    ("HPI\nMr. Ward reports headaches started about 3 months ago, at which point they were around 3 out of 10 in "
     "severity. They have gradually worsened over time and now he rates them at about 6/10.\n",
     "How does he rate the severity of his headaches now?", "About 6 out of 10", "About 3 out of 10"),
    ("HPI\nHer knee pain began in May, when at first it was 2/10. It has worsened steadily and currently she puts "
     "it at 7/10.\n", "How does she rate her knee pain currently?", "7 out of 10", "2 out of 10"),
    ("HPI\nHis back pain started last year; back then it was a 5 out of 10. Since the fall it got worse and today "
     "it is 8/10.\n", "How bad is his back pain now?", "8 out of 10", "5 out of 10"),
])
def test_the_subjects_own_sentence_is_a_rival_only_in_the_role_asked(notes_qa, note, question, right, wrong):
    """A value in a sentence that names the subject beats one from a sentence that does not, unless that value is
    in another time role than the question asks ("at which point they were 3 out of 10", asked the score now)."""
    qa = notes_qa(Patient("q21", "Al Ward", "1960-05-05"), {"n": ("2024-04-02", note)}, extract=True)
    opts = {"A": right, "B": wrong, "C": "10 out of 10"}
    v = _forced(qa, "q21", question, opts, "A")
    assert v.status == "verified", [(f.check, f.status, f.detail) for f in v.findings]
    assert _forced(qa, "q21", question, opts, "B").status != "verified"


@pytest.mark.parametrize("note,question,right,wrong", [
    ("Assessment and plan\nLateral ankle sprain. Continue RICE; crutches, non-weight-bearing.\nI advised him that his "
     "symptoms will likely start to improve over the next 4 to 6 days.\nThe patient will follow up with me in 2 weeks "
     "to assess his progress.\n", "When is f/u planned for the ankle sprain?", "In 2 weeks", "In 4 to 6 days"),
    ("Plan\nRight index trigger finger: cortisone injection today.\nOccupational therapy once a week for the next 6 "
     "weeks for range of motion of the finger.\nIt is going to take about three to five days before it starts feeling "
     "better.\n", "After the cortisone shot, how long until the finger starts feeling better?",
     "About three to five days", "About six weeks"),
    ("HPI\nKnee osteoarthritis, on naproxen.\nShe has had the knee brace for about a year.\nThe knee swelling came back "
     "3 weeks ago after a long hike.\n", "How long ago did the swelling of her knee osteoarthritis come back?",
     "3 weeks ago", "About a year ago"),
])
def test_a_time_from_a_sentence_about_another_event_loses_to_the_sentence_that_tells_the_one_asked(
        notes_qa, note, question, right, wrong):
    """A time ('in 4 to 6 days') from a sentence that does not name the subject belongs to that sentence's event;
    the sentence with more of the question's words (f/u read as follow up) tells the event asked."""
    qa = notes_qa(Patient("q22", "Ed Vale", "1970-07-07"), {"n": ("2024-04-02", note)}, extract=True)
    opts = {"A": right, "B": wrong, "C": "In 3 months"}
    assert _forced(qa, "q22", question, opts, "B").status != "verified"
    v = _forced(qa, "q22", question, opts, "A")
    assert v.status == "verified", [(f.check, f.status, f.detail) for f in v.findings]


@pytest.mark.parametrize("pid,notes,question,options", [
    ("w1", {"v": ("2023-05-02", "Knee clinic\nI am concerned about a torn MCL given the pop she heard.\n\nPlan\n"
                                "I want her to ice her knee once an hour for about 15 minutes.\n")},
     "For her suspected MCL injury, how often was she told to ice the knee?",
     {"A": "Once an hour for about 15 minutes", "B": "Twice a day for 30 minutes"}),
    ("w2", {"v": ("2023-06-01", "Clinic\nThe x-ray is consistent with a scaphoid fracture.\n\nPlan\n"
                                "She will wear a thumb spica cast for six weeks.\n")},
     "How long is the cast to be worn for the possible scaphoid injury?",
     {"A": "Six weeks", "B": "Two weeks"}),
    ("w3", {"v": ("2023-07-01", "Clinic\nExam fits a gout flare of the left big toe.\n\nPlan\n"
                                "Colchicine 0.5 mg twice daily until the pain settles.\n")},
     "What dose of colchicine was prescribed for the presumed gout attack?",
     {"A": "0.5 mg twice daily", "B": "1 mg once daily"}),
])
def test_the_certainty_word_of_a_working_diagnosis_is_no_part_of_its_name(notes_qa, pid, notes, question, options):
    """'suspected MCL injury' is named by 'torn MCL' in the note: 'suspected', 'possible' and 'presumed' are the
    assertion's certainty, not words of the name the record must state."""
    qa = notes_qa(Patient(pid, "Ada Moor", "1980-01-01"), notes)
    right = _forced(qa, pid, question, options, "A")
    assert right.status == "verified", [(f.check, f.status, f.detail) for f in right.findings]
    assert _forced(qa, pid, question, options, "B").status != "verified"


@pytest.mark.parametrize("pid,text,question,options", [
    ("x1", "Examination of the left ankle: ecchymosis over the lateral malleolus. No joint laxity appreciated.",
     "Which of the following was NOT appreciated on the left ankle exam?",
     {"A": "Laxity of the ankle joint", "B": "Bruising on the outer side", "C": "Reduced pulses"}),
    ("x2", "Lung exam: crackles at the right base. No wheezes heard.", "Which finding was absent on the lung exam?",
     {"A": "Wheezes in the lungs", "B": "Rales on the right", "C": "Dullness to percussion"}),
    ("x3", "Right knee exam: an effusion is present. No instability. Tenderness along the medial joint line.",
     "On the right knee exam, which was NOT found?",
     {"A": "Instability of the right knee", "B": "An effusion", "C": "Tenderness along the medial joint line"}),
])
def test_an_absent_option_is_found_without_the_words_it_shares_with_the_question(notes_qa, pid, text, question, options):
    """'Laxity of the ankle joint', asked about the ankle exam, is denied by 'No joint laxity appreciated': the words
    the option repeats from the question ('ankle') frame it, they need not be in the denying sentence."""
    qa = notes_qa(Patient(pid, "Max Ruhr", "1970-01-01"), {"e": ("2023-03-03", "Clinic note\n" + text + "\n")})
    right = _forced(qa, pid, question, options, "A")
    assert right.status == "verified", [(f.check, f.status, f.detail) for f in right.findings]
    for letter in list(options)[1:]:
        assert _forced(qa, pid, question, options, letter).status != "verified", letter


@pytest.mark.parametrize("text,event,day", [
    # an ordinal's own part of a sentence that ranks the thing both ways; "today" is the note's date
    ("Vaccinations: recombinant zoster vaccine first dose on 15.11.2023, second dose given today.",
     "Second dose of the recombinant zoster vaccine", dt.date(2024, 3, 14)),
    ("Vaccinations: recombinant zoster vaccine first dose on 15.11.2023, second dose given today.",
     "First dose of the recombinant zoster vaccine", dt.date(2023, 11, 15)),
    ("Hepatitis B vaccine: 1st dose 02.01.2024, 2nd dose 01.02.2024, 3rd dose today.",
     "Third dose of the hepatitis B vaccine", dt.date(2024, 3, 14)),
    # the sentence that tells the change, not the medication table row that only names the dose
    ("Mycophenolate sodium (enteric-coated) | 720 mg | PO | twice daily | maintenance\nAfter the renal response on "
     "15.11.2023, the dose was reduced to 720 mg twice daily as maintenance therapy.",
     "Reduction of mycophenolate sodium to 720 mg twice daily as maintenance", dt.date(2023, 11, 15)),
    # a reduction is dated by the sentence that reduces, an increase by the number it reaches
    ("Mycophenolate was resumed at 720 mg twice daily on 25.05.2023 and increased again to 1080 mg twice daily on "
     "12.07.2023.\nAfter the renal response on 15.11.2023, the dose was reduced to 720 mg twice daily as maintenance.",
     "Reduction of mycophenolate sodium to 720 mg twice daily", dt.date(2023, 11, 15)),
    ("Mycophenolate was resumed at 720 mg twice daily on 25.05.2023 and increased again to 1080 mg twice daily on "
     "12.07.2023.\nAfter the renal response on 15.11.2023, the dose was reduced to 720 mg twice daily as maintenance.",
     "Increase of mycophenolate sodium to 1080 mg twice daily", dt.date(2023, 7, 12)),
])
def test_an_event_is_dated_by_the_part_of_the_record_that_tells_it(notes_qa, text, event, day):
    other = ("Clinic note\nPantoprazole 40 mg daily.\nAtorvastatin 20 mg daily.\nVitamin D 1000 IU daily.\n"
             "Paracetamol 500 mg twice daily as needed.\nFolic acid 5 mg once weekly.\n")
    pid = f"r{abs(hash((text, event))) % 10**6}"
    qa = notes_qa(Patient(pid, "Ina Falk", "1990-01-01"), {"o": ("2023-01-10", other),
                                                         "m": ("2024-03-14", "Clinic letter\n" + text + "\n")})
    got = qa.tools.event_date(pid, event)
    assert got is not None and got[0] == day, got


@pytest.mark.parametrize("exchange", [
    "[doctor] did they give you a lot of fluid in the emergency room ?\n[patient] they actually did .\n",
    "[doctor] have you been taking the naproxen for the pain ?\n[patient] i really have , twice a day .\n",
    "[doctor] does the swelling get worse at night ?\n[patient] it does .\n",
])
def test_a_short_yes_states_what_the_question_asked(notes_qa, exchange):
    """'did they give you a lot of fluid?' / 'they actually did': a reply of subject and auxiliary confirms the
    question's proposition, so the option is no denial; a short 'no' ('i really do n't') would make it one."""
    text = ("[doctor] any chest pain or shortness of breath ?\n[patient] no , no .\n" + exchange
            + "[doctor] okay .\n")
    question = "Which of the following did the patient deny?"
    asked = {"fluid": "Receiving a lot of fluid in the emergency room", "naproxen": "Taking naproxen for the pain",
             "swelling": "Swelling that gets worse at night"}
    option = next(v for k, v in asked.items() if k in exchange)
    opts = {"A": "Shortness of breath", "B": option, "C": "Fever"}
    pid = f"y{abs(hash(exchange)) % 10**6}"
    qa = notes_qa(Patient(pid, "Tim Rao", "1970-01-01"), {"n": ("2024-03-03", text)})
    assert _forced(qa, pid, question, opts, "B").status != "verified"
    assert _forced(qa, pid, question, opts, "A").status == "verified"


@pytest.mark.parametrize("reply,state", [
    ("they actually did .", "present"), ("i really do n't .", "absent"), ("she does , every day .", "present"),
    ("we did not .", "absent"), ("it is .", "present"), ("i have n't .", "absent"),
    ("i really do n't know where i got it", None), ("they did the scan last week", None), ("i have pain there", None),
])
def test_a_short_answer_is_read_as_yes_or_no(reply, state):
    """Subject and auxiliary alone answer the question; followed by their own verb they say something else."""
    from agent.verify import _short_answer

    m = _short_answer().match(reply)
    assert (None if m is None else "absent" if m.group("neg") else "present") == state


def test_a_question_with_no_reply_read_denies_nothing(notes_qa):
    text = ("[doctor] any chest pain or shortness of breath ?\n[patient] no , no .\n"
            "[doctor] did they give you a lot of fluid in the emergency room ?\n"
            "[patient] i think my wife would know more about that .\n[doctor] okay .\n")
    opts = {"A": "Shortness of breath", "B": "Receiving a lot of fluid in the emergency room", "C": "Fever"}
    qa = notes_qa(Patient("y0", "Tim Rao", "1970-01-01"), {"n": ("2024-03-03", text)})
    assert _forced(qa, "y0", "Which of the following did the patient deny?", opts, "B").status != "verified"


@pytest.mark.parametrize("text,options,picked,right", [
    ("Review of systems\nConstitutional: Reports fatigue and decrease in appetite.\nRespiratory: Reports dry cough.\n"
     "GI: Denies nausea or vomiting.\n",
     {"A": "Eating less than she normally would", "B": "Fatigue", "C": "A dry cough", "D": "Nausea or vomiting"},
     "A", "D"),
    ("History\nShe notes low energy and a runny nose since Monday. She denies any fever or chills.\n",
     {"A": "Not feeling like eating", "B": "Low energy", "C": "A runny nose", "D": "Fever or chills"}, "B", "D"),
])
def test_a_computed_absence_the_verifier_rejects_yields_to_the_one_it_accepts(notes_qa, text, options, picked, right):
    """The absence resolver's pick ("eating less", never stated in those words) is read by word overlap; rejected
    by the verifier while exactly one other option verifies (explicitly denied), that one is the answer. A computed
    result of another kind (a count, a date) stays code's answer."""
    from agent.tools import Computed
    from agent.verify import Draft

    pid = f"v{abs(hash(text)) % 10**6}"
    qa = notes_qa(Patient(pid, "Bea Lund", "1980-02-02"), {"n": ("2024-03-03", text)})
    g = qa.agent
    s = g.evidence(pid, "Which of the following does the patient NOT report?", options)
    ctx = s["context"]
    some = next(iter(ctx.passages.values()))
    for kind, switched in (("absence", right), ("cycles", None)):
        cid = ctx.add_computed(Computed(kind, f"the explicitly absent option: {picked}", {"choice": picked}, [some]))
        got = g._single_verified(s, Draft(options[picked], picked, [cid], computed_answer=True), g._typed_checks(s))
        assert (got.choice if got else None) == switched, kind


@pytest.mark.parametrize("text,question,given,named", [
    ("Oncology letter\nShe has completed 4 cycles of FOLFOX. Cycle 6 of FOLFOX was postponed because of neutropenia.\n",
     "How many cycles of FOLFOX did the patient receive?", "4", "6"),
    ("Infusion clinic\nHe has received 2 infliximab infusions so far. Infusion #3 of infliximab is scheduled for "
     "next week.\n", "How many infliximab infusions did he get?", "2", "3"),
    ("Oncology note\nThree courses of ABVD were given without delay. Course 5 of ABVD was cancelled after the PET "
     "scan.\n", "How many ABVD courses were administered?", "3", "5"),
])
def test_a_numbered_occurrence_not_given_is_no_count(notes_qa, text, question, given, named):
    """'Cycle 6 of FOLFOX was postponed' names the sixth cycle: it states no count of 6, and a count of 4 given is
    not contradicted by it."""
    pid = f"k{abs(hash(text)) % 10**6}"
    qa = notes_qa(Patient(pid, "Eva Moll", "1961-06-06"), {"n": ("2024-03-03", text)})
    opts = {"A": given, "B": named, "C": "1"}
    right = _forced(qa, pid, question, opts, "A")
    assert right.status == "verified", [(f.check, f.status, f.detail) for f in right.findings]
    assert _forced(qa, pid, question, opts, "B").status != "verified"


@pytest.mark.parametrize("turn,question,options,right", [
    ("[doctor] when you came in today your blood pressure was a little bit high it was one fifty over seventy",
     "What was his blood pressure on arrival today?", {"A": "130/70", "B": "150/70", "C": "140/90"}, "B"),
    ("[doctor] i see you're on twenty milligrams of lisinopril and you've been taking it every day",
     "What dose of lisinopril is he taking?", {"A": "10 mg", "B": "40 mg", "C": "20 mg"}, "C"),
    ("[doctor] let's do six hundred milligrams of motrin every six hours with food for a week",
     "What Motrin regimen was he given?", {"A": "800 mg every 8 hours", "B": "600 mg every 6 hours",
                                          "C": "400 mg every 6 hours"}, "B"),
])
def test_a_value_said_in_words_is_found_and_verified(notes_qa, turn, question, options, right):
    """A visit transcript says its numbers ('one fifty over seventy', 'twenty milligrams', 'every six hours'): the
    option that writes them in digits is scored by value, cited from that turn and verified; the others are not."""
    qa = notes_qa(Patient("q7", "Ray Lund", "1961-02-02"), {
        "t": ("2023-06-01", "[patient] hi doctor\n" + turn + "\n[patient] okay\n"),
        "o": ("2023-06-01", "Visit note\nHe reports knee pain after a fall. Ice and rest advised.\n")})
    ans = qa.ask("q7", question, options, allow_abstain=False)
    assert ans.choice == right and ans.option_checks[right] == "verified", ans.option_checks
    assert all(not ans.option_checks[k].startswith("verified") for k in options if k != right), ans.option_checks
    from agent.reason import SUPPORT_MIN
    from agent.tools import Passage

    scorer = qa.agent.reasoner.scorer
    said = Passage("q7", "q7/t", 0, len(turn), turn, None)
    written = "Plan: " + options[right] + "."
    by_value = scorer.score("q7", options[right], said, set())[0]
    assert by_value >= SUPPORT_MIN  # by value, the turn supports the option
    assert by_value < scorer.score("q7", options[right], Passage("q7", "q7/o", 0, len(written), written, None),
                                   set())[0]  # a text in the option's own writing still ranks first
    assert all(scorer.score("q7", o, said, set())[0] < by_value for k, o in options.items() if k != right)


@pytest.mark.parametrize("option,text", [
    ("Tension-type headache", "Assessment: tension type headache, no red flags."),
    ("One 8-ounce cup a day", "[doctor] how about one , one eight-ounce cup a day ?"),
    ("Beta blocker started", "A beta-blocker was started for rate control."),
])
def test_a_hyphenated_option_is_covered_by_its_parts(notes_qa, option, text):
    """'tension-type' and 'tension type', '8-ounce' and 'eight-ounce' are one phrase to the option scorer: the text
    that writes it the other way covers the option in full."""
    from agent.tools import Passage

    qa = notes_qa(Patient("q8", "Al Berg", "1970-03-03"), {"n": ("2023-06-01", "Visit note\n" + text + "\n")})
    p = Passage("q8", "q8/n", 0, len(text), text, None)
    assert qa.agent.reasoner.scorer.score("q8", option, p, set())[0] >= 0.7  # of 0.8 without question words


@pytest.mark.parametrize("notes,question,right", [
    ({"a": ("2021-05-02", "Annual visit\nASSESSMENT AND PLAN\nRalph Barnes is a 62-year-old male who presents for his "
                          "annual examination. Depression: stable on Prozac.\n"),
      "t": ("2021-05-02", "Visit transcript\n[doctor] i know that we had put you on the prozac last year .\n")},
     "Per the conversation, when was Ralph started on Prozac?", "Last year"),
    ({"a": ("2023-03-01", "Clinic note\nAssessment: 45-year-old woman on sertraline, anxiety well controlled over "
                          "the past months.\n"),
      "b": ("2023-03-01", "History\nShe began sertraline two months ago after a panic attack.\n")},
     "How long ago was sertraline begun?", "Two months ago"),
])
def test_the_answer_cites_the_passage_that_states_it(notes_qa, notes, question, right):
    """The passage most like the option (it names the drug and the visit) is not always the one that states the
    answer; the answer also cites the one whose clause does."""
    qa = notes_qa(Patient("q9", "Ray Cole", "1959-01-01"), notes)
    opts = {"A": "Two years ago", "B": right, "C": "Last week"}
    v = _forced(qa, "q9", question, opts, "B")
    assert v.status == "verified", v.reason


@pytest.mark.parametrize("text,question,right,wrong", [
    ("Medications\nPatient reports taking lisinopril 20 mg daily and metformin 1000 mg twice daily.\nPlan\n"
     "Prescription for lisinopril 40 mg once a day is provided.\n",
     "At this visit, what lisinopril dose was prescribed to get her blood pressure under better control?",
     "40 mg once a day", "20 mg once a day"),
    ("Home medications\nHe has been taking amlodipine 5 mg daily for years.\nPlan\nAmlodipine increased to 10 mg "
     "daily, prescription sent.\n", "What amlodipine dose was prescribed today?", "10 mg daily", "5 mg daily"),
    ("Current medications\nShe is taking sertraline 50 mg each morning.\nAssessment and plan\nSertraline was "
     "started at 100 mg daily after discussion of the options.\n", "Which sertraline dose was started?",
     "100 mg daily", "50 mg each morning"),
])
def test_a_dose_the_patient_reports_taking_is_not_the_one_prescribed(notes_qa, text, question, right, wrong):
    """'Patient reports taking lisinopril 20 mg' continues a drug; asked what was prescribed or started, the
    answer is the new dose, not the one taken before."""
    qa = notes_qa(Patient("q15", "Ida Lane", "1961-02-02"), {"n": ("2024-02-01", text)})
    opts = {"A": right, "B": wrong, "C": "80 mg daily"}
    assert _forced(qa, "q15", question, opts, "A").status == "verified"
    bad = _forced(qa, "q15", question, opts, "B")
    assert bad.status != "verified" and any(f.check == "time_role" for f in bad.findings), bad.reason


@pytest.mark.parametrize("text,question,right,wrong", [
    ("[doctor] right now we have you on norvasc five milligrams once a day .\n[doctor] i'm going to stop the norvasc "
     "and start you on hydrochlorothiazide ten milligrams once a day .\n",
     "For his HTN, what hydrochlorothiazide dose replaces the Norvasc?", "10 mg once a day", "5 mg once a day"),
    ("Medications: amlodipine 10 mg daily.\nPlan: amlodipine is stopped; losartan 50 mg daily is started "
     "instead.\n", "Which losartan dose takes the place of amlodipine?", "50 mg daily", "10 mg daily"),
])
def test_the_dose_of_the_replaced_drug_is_not_its_replacements(notes_qa, text, question, right, wrong):
    """Asked the dose of the drug that replaces another, the replaced drug's dose is no answer, even in a clause
    with no switch of its own ('we have you on norvasc five milligrams')."""
    qa = notes_qa(Patient("q16", "Al Gray", "1958-08-08"), {"n": ("2024-03-01", text)})
    opts = {"A": right, "B": wrong, "C": "40 mg daily"}
    assert _forced(qa, "q16", question, opts, "A").status == "verified", _forced(qa, "q16", question, opts, "A").reason
    bad = _forced(qa, "q16", question, opts, "B")
    assert bad.status != "verified", bad.reason


@pytest.mark.parametrize("transcript,note,question,denied,present", [
    ("[doctor] and do you have any pain when it happens\n[patient] no .\n",
     "HPI: the whole side of her face moves during each twitch.", "Which of the following was denied?",
     "Pain when the twitch happens", "Movement of the whole side of her face"),
    ("[doctor] is it keeping you up at night\n[patient] no , i do n't wake up at night .\n",
     "HPI: wheezing when running, relieved by albuterol.", "Which problem does she say she does NOT have?",
     "Waking up at night with breathing trouble", "Wheezing when running"),
    ("[doctor] any nausea after you eat ?\n[patient] nope .\n", "HPI: heartburn every night for two months.",
     "Which symptom did he deny?", "Nausea after eating meals", "Heartburn every night"),
])
def test_an_option_told_in_other_words_and_denied_is_an_absence(notes_qa, transcript, note, question, denied,
                                                                  present):
    """Most of an option's words in a question the patient answers no ('do you have any pain when it happens' /
    'no') document its absence; an option stated for the patient is no absence."""
    qa = notes_qa(Patient("q17", "Kay Dunn", "1990-05-05"), {"t": ("2024-04-04", "Visit transcript\n" + transcript),
                                                              "n": ("2024-04-04", "Clinic note\n" + note + "\n")})
    opts = {"A": denied, "B": present, "C": "Fever above 39 degrees"}
    assert _forced(qa, "q17", question, opts, "A").status == "verified", _forced(qa, "q17", question, opts, "A").reason
    assert _forced(qa, "q17", question, opts, "B").status != "verified"


@pytest.mark.parametrize("sentence", [
    "Her HbA1c was 6.1 %; the criteria for diabetes were never met.",
    "The diabetes label rests on one glucose value during steroid therapy.",
])
def test_a_bare_date_is_not_stated_by_any_sentence_of_a_note_of_that_date(notes_qa, sentence):
    """A note's date dates its undated sentences, but a sentence that names the subject does not thereby state that
    date as the answer: the passage cited for a date must write it."""
    import datetime as dt

    from agent.context import Context
    from agent.tools import Passage
    from agent.understand import QuestionAnalyzer

    qa = notes_qa(Patient("q18", "Kai Berg", "1960-03-03"), {
        "l": ("2024-05-16", f"Consultant letter\nDate: 16-May-2024\n{sentence}\n"),
        "a": ("2024-05-21", "Addendum\nThe diabetes diagnosis is hereby formally corrected on 21.05.2024.\n")})
    question = "On what date was the earlier diabetes diagnosis formally corrected?"
    opts = {"A": "May 16, 2024", "B": "May 21, 2024", "C": "March 6, 2024"}
    ctx = Context("q18")
    head = ctx.add_passage(Passage("q18", "q18/l", 0, 24, "Date: 16-May-2024\nTo: Dr.", dt.date(2024, 5, 16)))
    ctx.add_passage(Passage("q18", "q18/l", 30, 30 + len(sentence), sentence, dt.date(2024, 5, 16)))
    said = "The diabetes diagnosis is hereby formally corrected on 21.05.2024."
    addendum = ctx.add_passage(Passage("q18", "q18/a", 0, len(said), said, dt.date(2024, 5, 21)))
    extractive = getattr(qa.agent.reasoner, "extractive", qa.agent.reasoner)
    a = QuestionAnalyzer().run(question, opts)
    assert extractive._stating(a, ctx, "May 16, 2024", [head]) is None
    assert extractive._stating(a, ctx, "May 21, 2024", [head]) == addendum


EXAM_NOTES = {
    "u": ("2022-03-02", "Imaging report\nExamination: Abdominal ultrasound\nDate of examination: 2022-03-02\n\n"
                        "Findings:\nA new hypoechoic liver lesion of 1.4 cm in segment IV.\n"),
    "c": ("2022-03-02", "Radiology report\nExamination: CT of the chest\n\nFindings:\nNo evidence of pulmonary "
                        "metastases. Small hiatal hernia.\n"),
    "f": ("2022-06-15", "Radiology report\nStudy: follow-up CT of the chest\n\nFindings:\nTwo new pulmonary nodules, "
                        "consistent with pulmonary metastases.\n"),
}
EXAM_OPTS = {"A": "abdominal ultrasound on March 2, 2022", "B": "CT of the chest on March 2, 2022",
             "C": "follow-up CT of the chest on June 15, 2022"}


@pytest.mark.parametrize("question,right", [
    ("Which examination showed no evidence of pulmonary metastases?", "B"),
    ("No pulmonary metastases were demonstrated on which study?", "B"),
    ("Which imaging study revealed a new liver lesion?", "A"),
    ("What investigation documented pulmonary metastases?", "C"),
])
def test_an_examination_answer_is_checked_against_its_own_report(notes_qa, question, right):
    """'Which examination showed X?' with options '<exam> on <date>': the answer's report (its note's date, its
    heading's exam) must state X as asked; another exam's report, or the same exam on another day, is refused."""
    qa = notes_qa(Patient("q19", "Ida Lund", "1961-02-02"), EXAM_NOTES)
    for letter in EXAM_OPTS:
        v = _forced(qa, "q19", question, EXAM_OPTS, letter)
        assert (v.status == "verified") == (letter == right), (letter, v.reason)


@pytest.mark.parametrize("sentence", [
    "Work-up: CT of the chest on 2022-03-02 showed no evidence of pulmonary metastases.",
    "CT of the chest (02.03.2022): no evidence of pulmonary metastases.",
    # two exams of one day in one passage: each sentence states its own exam's finding
    "Abdominal ultrasound on 2022-03-02 showed a liver lesion. CT of the chest on 2022-03-02 showed no evidence of "
    "pulmonary metastases.",
])
def test_an_examination_named_with_its_date_in_a_later_note_states_its_finding(notes_qa, sentence):
    """A later letter's sentence that names the exam and its date states that exam's finding as well as its own
    report does; another exam named in the next sentence does not."""
    from agent.context import Context
    from agent.tools import Passage
    from agent.understand import QuestionAnalyzer
    from agent.verify import Draft

    qa = notes_qa(Patient("q20", "Ove Ring", "1955-05-05"), {"l": ("2022-07-01", f"Clinic letter\n{sentence}\n")})
    question = "Which examination showed no evidence of pulmonary metastases?"
    a = QuestionAnalyzer().run(question, EXAM_OPTS)
    for letter, ok in (("B", True), ("A", False), ("C", False)):
        ctx = Context("q20")
        ctx.add_passage(Passage("q20", "q20/l", 14, 14 + len(sentence), sentence, dt.date(2022, 7, 1)))
        v = qa.agent.verifier.run(Draft(EXAM_OPTS[letter], letter, ["E1"]), ctx, a)
        assert (v.status == "verified") == ok, (letter, v.reason)


@pytest.mark.parametrize("sentence,right,wrong", [
    ("The patient was instructed to call me if he gains 3 pounds in 2 days.", "3 pounds in 2 days",
     "5 pounds in 1 week"),
    ("Call the clinic for a gain of more than 2 kg in 3 days.", "2 kg in 3 days", "3 kg in 2 days"),
    ("If you put on 3 lbs overnight, phone us.", "3 lbs overnight", "3 kg in a week"),
])
def test_a_value_binds_to_the_quantity_its_unit_measures(notes_qa, sentence, right, wrong):
    """Asked how much weight, an answer in pounds or kilograms binds to weight by its unit where neither the clause
    ('gains 3 pounds') nor its note names weight; another amount is still not stated."""
    from agent.context import Context
    from agent.tools import Passage
    from agent.understand import QuestionAnalyzer
    from agent.verify import Draft

    qa = notes_qa(Patient("q21", "Per Holm", "1949-09-09"),
                  {"h": ("2023-03-03", f"Heart failure clinic\n{sentence}\n")})
    question = "The patient should call the doctor if he gains how much weight over what period?"
    opts = {"A": right, "B": wrong}
    a = QuestionAnalyzer().run(question, opts)
    for letter, ok in (("A", True), ("B", False)):
        ctx = Context("q21")
        ctx.add_passage(Passage("q21", "q21/h", 21, 21 + len(sentence), sentence, dt.date(2023, 3, 3)))
        v = qa.agent.verifier.run(Draft(opts[letter], letter, ["E1"]), ctx, a)
        assert (v.status == "verified") == ok, (letter, v.reason)


@pytest.mark.parametrize("question", [
    "Which of these examinations was NOT performed?",
    "Which imaging study was never done?",
])
def test_an_examination_never_done_is_an_absence_not_a_report(notes_qa, question):
    """Asked which examination was not done (no verb of showing), '<exam> on <date>' options are checked as an
    absence, not against a report's finding; an exam with its own report is never verified as not done."""
    qa = notes_qa(Patient("q22", "Eva Dahl", "1963-03-03"), EXAM_NOTES)
    opts = {**EXAM_OPTS, "D": "MRI of the liver on April 4, 2022"}
    for letter in ("D", "B"):
        v = _forced(qa, "q22", question, opts, letter)
        checks = {f.check for f in v.findings}
        assert "absence" in checks and "report" not in checks, (letter, v.reason)
    assert _forced(qa, "q22", question, opts, "B").status != "verified"
