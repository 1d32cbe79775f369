"""extractors.assertion: general lexicons, sections from headers, time expressions, conditionals, experiencer.

Each rule is checked with several wordings written for these tests (not sentences of the dev kit).
"""
from __future__ import annotations

import datetime as dt
import json

import pytest

from clinqa.records import Assertion, Experiencer
from extractors.assertion import DEFAULT_RULES, AssertionClassifier, RuleError

A, X = Assertion, Experiencer


@pytest.fixture(scope="module")
def clf() -> AssertionClassifier:
    c = AssertionClassifier()
    c.warm_up()
    return c


def run(clf, sentence: str, concept: str, **kw):
    i = sentence.index(concept)
    return clf.classify(sentence, i, i + len(concept), **kw)


def ids(res) -> list[str]:
    return [t.split(":", 1)[0] if not t.startswith(("medspacy:", "negex:")) else t.rsplit(":", 1)[0]
            for t in res.triggers]


# --------------------------------------------------------------------------- general lexicons as data
def test_general_lexicons_are_imported_with_their_licences(clf):
    data = json.loads(DEFAULT_RULES.read_text(encoding="utf-8"))
    files = {imp["format"]: DEFAULT_RULES.parent / imp["file"] for imp in data["imports"]}
    assert set(files) == {"medspacy", "negex"}
    for fmt, path in files.items():
        lex = json.loads(path.read_text(encoding="utf-8"))
        assert lex["version"] and lex["licence"] and lex["source"]
    origins = {r.origin for r in clf.rules.rules}
    assert origins == {"clinqa", "general", "medspacy", "negex"}
    # every GenNegEx trigger and medspaCy rule became a rule
    negex = json.loads(files["negex"].read_text(encoding="utf-8"))["triggers"]
    assert sum(r.origin == "negex" for r in clf.rules.rules) == len(negex) == 272


@pytest.mark.parametrize("sentence,concept", [
    ("The wound is free of purulence.", "purulence"),
    ("Biopsy fails to reveal malignant cells.", "malignant cells"),
    ("Findings suggest atelectasis rather than pneumonia.", "pneumonia"),
    ("The infection has been ruled out.", "infection"),
    ("I cannot see any mass on this film.", "mass"),
])
def test_negation_from_the_general_lexicons(clf, sentence, concept):
    project = {r.id for r in clf.rules.rules if r.origin == "clinqa"}
    general = AssertionClassifier.from_rules(clf.rules.without(project))  # the imports alone
    res = run(general, sentence, concept)
    assert res.assertion is A.ABSENT
    assert res.triggers and all(t.startswith(("medspacy:", "negex:")) for t in res.triggers), res.triggers
    assert run(clf, sentence, concept).assertion is A.ABSENT  # with the project rules on top


# the issue's clinical phrases and published items written as general (always-on, never tuned) rules: each one
# names its source; checked here with the project's own (origin clinqa) rules switched off
GENERAL_SOURCES = ("pyConText", "medspaCy", "NegEx", "issue 16 list")


def test_general_rules_name_a_published_source_or_the_issue_list():
    data = json.loads(DEFAULT_RULES.read_text(encoding="utf-8"))
    general = [r for r in data["rules"] if r.get("origin") == "general"]
    assert len(general) >= 20
    for r in general:
        assert any(src in r["source"] for src in GENERAL_SOURCES), r["id"]


def test_a_general_rule_without_a_source_is_refused(tmp_path):
    p = tmp_path / "rules.json"
    rule = {"id": "hist_x", "literal": "formerly", "category": "HISTORICAL", "direction": "FORWARD",
            "origin": "general"}
    p.write_text(json.dumps({"version": "t", "rules": [rule]}))
    with pytest.raises(RuleError, match="hist_x.*needs a 'source'"):
        AssertionClassifier(p).warm_up()
    p.write_text(json.dumps({"version": "t", "rules": [dict(rule, source="pyConText 'previous'")]}))
    c = AssertionClassifier(p)
    assert run(c, "formerly anemia", "anemia").historical


@pytest.fixture(scope="module")
def general_only(clf) -> AssertionClassifier:
    """The always-on layer: imports plus origin-general rules (what --cv never tunes)."""
    return AssertionClassifier.from_rules(clf.rules.without({r.id for r in clf.rules.rules if r.origin == "clinqa"}))


@pytest.mark.parametrize("sentence,concept", [
    ("She is status post appendectomy.", "appendectomy"),
    ("Pt s/p left knee arthroscopy.", "knee arthroscopy"),
    ("He has a history of gout flares.", "gout flares"),
    ("Prior myocardial infarction noted on ECG.", "myocardial infarction"),
    ("He had asthma as a child.", "asthma"),
    ("Pancreatitis during his last admission.", "Pancreatitis"),
    ("Lesion in the liver is redemonstrated.", "Lesion in the liver"),
    ("Renal cyst has not changed.", "Renal cyst"),
])
def test_issue_and_published_history_cues_are_always_on(general_only, sentence, concept):
    assert run(general_only, sentence, concept).historical


@pytest.mark.parametrize("sentence,concept", [
    ("Return to clinic if headache gets worse.", "headache"),
    ("Should a rash develop, stop the drug.", "rash"),
    ("Epinephrine pen in case of anaphylaxis.", "anaphylaxis"),
    ("In the event of chest pain, call 911.", "chest pain"),
    ("Call your doctor if fever persists.", "fever"),
])
def test_issue_conditionals_are_always_on(general_only, sentence, concept):
    assert run(general_only, sentence, concept).assertion is A.HYPOTHETICAL


# the project's own additions split off the general rules above (origin clinqa: tuned and cross-validated)
@pytest.mark.parametrize("sentence,concept,rule", [
    ("Past cholecystectomy without complications.", "cholecystectomy", "hist_previous_other"),
    ("Former smoker with emphysema on CT.", "smoker", "hist_previous_other"),
    ("Preexisting atrial fibrillation, rate controlled.", "atrial fibrillation", "hist_previous_other"),
    ("He has longstanding hypertension.", "hypertension", "hist_longstanding"),
    ("Established coronary disease on statin.", "coronary disease", "hist_longstanding"),
    ("The thyroid nodule has never changed in size.", "thyroid nodule", "hist_never_changed"),
    ("She had rheumatic fever as a teenager.", "rheumatic fever", "hist_life_stage"),
    ("Pyloric stenosis repaired when an infant.", "Pyloric stenosis", "hist_life_stage"),
    ("Delirium during an earlier hospitalization.", "Delirium", "hist_earlier_stay"),
    ("Hypokalemia on the preceding admission.", "Hypokalemia", "hist_earlier_stay"),
])
def test_project_history_words_beside_the_general_ones(clf, sentence, concept, rule):
    res = run(clf, sentence, concept)
    assert res.historical and rule in ids(res), res.triggers


@pytest.mark.parametrize("sentence,concept,rule,section", [
    ("Contact the clinic if bleeding recurs.", "bleeding", "hyp_instruction_other", None),
    ("Seek medical attention for shortness of breath.", "shortness of breath", "hyp_instruction_other", None),
    ("Notify the team for urine output below 30 mL/h.", "urine output", "hyp_return_other", "Plan"),
    ("Alert nursing for chest pain.", "chest pain", "hyp_return_other", "Plan"),
    ("Small chance of wound infection after the procedure.", "wound infection", "hyp_chance_of", None),
    ("This lowers the likelihood of a recurrent stroke.", "recurrent stroke", "hyp_chance_of", None),
    ("Go to the nearest emergency room for chest pain.", "chest pain", "hyp_go_to_care", None),
    ("Advised to present to the ED with any worsening headache.", "headache", "hyp_go_to_care", None),
    ("Proceed to urgent care immediately if the wound drains pus.", "pus", "hyp_go_to_care", None),
    ("She was told to report any vision changes.", "vision changes", "hyp_instructed_to", None),
    ("He was advised to watch for black stools.", "black stools", "hyp_instructed_to", None),
    ("Mother was asked to call us with any fever over 38.", "fever", "hyp_instructed_to", None),
    ("Any recurrence of bleeding should prompt an immediate return.", "bleeding", "hyp_should_prompt", None),
    ("New weakness would warrant a repeat CT.", "weakness", "hyp_should_prompt", None),
    ("Worsening dyspnea will trigger admission.", "dyspnea", "hyp_should_prompt", None),
    ("Please notify us of any bleeding.", "bleeding", "hyp_instruction_other", None),
    ("Use albuterol when needed for wheezing.", "wheezing", "hyp_as_needed_for", None),
    ("Oxycodone as required for severe pain.", "severe pain", "hyp_as_needed_for", None),
])
def test_project_condition_words_beside_the_general_ones(clf, sentence, concept, rule, section):
    res = run(clf, sentence, concept, section=section)
    assert res.assertion is A.HYPOTHETICAL and rule in ids(res), res.triggers


def test_import_skip_and_bad_format(tmp_path):
    lex = tmp_path / "neg.json"
    lex.write_text(json.dumps({"version": "t", "triggers": [["nix", "PREN"], ["nada", "PREN"]]}))
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"version": "t", "rules": [], "imports": [
        {"file": "neg.json", "format": "negex", "skip": {"nada": "reason it is left out"}}]}))
    c = AssertionClassifier(rules)
    assert run(c, "nix fever", "fever").assertion is A.ABSENT
    assert run(c, "nada fever", "fever").assertion is A.PRESENT
    rules.write_text(json.dumps({"version": "t", "rules": [], "imports": [{"file": "neg.json", "format": "xml"}]}))
    with pytest.raises(RuleError, match="unknown format"):
        AssertionClassifier(rules).warm_up()
    lex.write_text(json.dumps({"version": "t", "triggers": [["nix", "WHAT"]]}))
    rules.write_text(json.dumps({"version": "t", "rules": [], "imports": [{"file": "neg.json", "format": "negex"}]}))
    with pytest.raises(RuleError, match="unknown tag"):
        AssertionClassifier(rules).warm_up()


def test_without_drops_rules_and_survives_pickling(clf):
    import pickle

    s = "Lungs: no wheezes."
    assert run(clf, s, "wheezes").assertion is A.ABSENT
    pruned = AssertionClassifier.from_rules(clf.rules.without({"neg_colon_no"}))
    again = pickle.loads(pickle.dumps(pruned))
    for c in (pruned, again):
        assert "neg_colon_no" not in ids(run(c, s, "wheezes"))
    with pytest.raises(RuleError, match="unknown rule"):
        clf.rules.without({"no_such_rule"})


# --------------------------------------------------------------------------- clause scoping
@pytest.mark.parametrize("sentence,concept", [
    ("Denies headache, still reports blurred vision.", "blurred vision"),
    ("No edema in the legs; mild erythema over the shin.", "erythema"),
    ("No pleural effusion, although a small nodule persists.", "nodule"),
    ("Without fever, yet the lactate is elevated.", "lactate"),
])
def test_negation_ends_at_the_clause(clf, sentence, concept):
    assert run(clf, sentence, concept).assertion is A.PRESENT


@pytest.mark.parametrize("sentence,concept", [
    ("No history of seizures.", "seizures"),
    ("She has no prior history of stroke.", "stroke"),
    ("No known history of heart disease.", "heart disease"),
])
def test_no_history_of_is_negated_and_historical(clf, sentence, concept):
    res = run(clf, sentence, concept)
    assert res.assertion is A.ABSENT and res.historical


# --------------------------------------------------------------------------- sections from headers
@pytest.mark.parametrize("sentence,concept", [
    ("PAST SURGICAL HISTORY:  Appendectomy and cholecystectomy.", "cholecystectomy"),
    ("Past medical history: asthma, eczema.", "eczema"),
    ("Vitals stable.  PMH:  Gout.", "Gout"),
    ("SOCIAL HISTORY:  Works as a welder.", "welder"),
])
def test_history_headers_in_the_passage_mean_historical(clf, sentence, concept):
    res = run(clf, sentence, concept)
    assert res.historical, res.triggers
    assert any(t.startswith("section:") for t in res.triggers)


@pytest.mark.parametrize("sentence,concept", [
    ("CLINICAL HISTORY:  Cough and fever.", "fever"),
    ("INDICATION:  Chest pain.", "Chest pain"),
    ("PATIENT HISTORY:  Shortness of breath.", "Shortness of breath"),
    ("REASON FOR EXAM: Abdominal pain.", "Abdominal pain"),
])
def test_indication_headers_are_not_history(clf, sentence, concept):
    assert not run(clf, sentence, concept).historical


def test_an_unknown_header_ends_the_history_section(clf):
    s = "PAST MEDICAL HISTORY:  Asthma.  PHYSICAL EXAM:  Wheezing."
    assert run(clf, s, "Asthma").historical
    assert not run(clf, s, "Wheezing").historical
    # an explicit section wins over headers in the text
    assert not run(clf, "PAST MEDICAL HISTORY:  Asthma.", "Asthma", section="hospital course").historical


def test_family_history_header_gives_family_and_historical(clf):
    for s, c in (("FAMILY HISTORY:  Breast cancer.", "Breast cancer"), ("FH:  Diabetes.", "Diabetes"),
                 ("Family history: colon cancer in a sibling.", "colon cancer")):
        res = run(clf, s, c)
        assert res.experiencer is X.FAMILY and res.historical, (s, res.triggers)


# --------------------------------------------------------------------------- time expressions
@pytest.mark.parametrize("sentence,concept", [
    ("Cholecystectomy three years ago.", "Cholecystectomy"),
    ("She fractured her wrist 6 months ago.", "fractured her wrist"),
    ("Pneumonia last year, treated as an outpatient.", "Pneumonia"),
    ("Kidney stones ten years earlier.", "Kidney stones"),
])
def test_past_time_expressions_mean_historical(clf, sentence, concept):
    res = run(clf, sentence, concept)
    assert res.historical, res.triggers
    assert "time_expression" in ids(res)


@pytest.mark.parametrize("sentence,concept", [
    ("Vomiting since yesterday.", "Vomiting"),
    ("Rash started 2 days ago.", "Rash"),
    ("Fever today.", "Fever"),
])
def test_recent_time_expressions_are_not_historical(clf, sentence, concept):
    assert not run(clf, sentence, concept).historical


def test_recent_time_ends_a_historical_scope(clf):
    res = run(clf, "Previous cough resolved, new cough began yesterday with sputum.", "sputum")
    assert not res.historical


def test_absolute_dates_are_read_against_the_note_date(clf):
    s = "Colonoscopy on 03/02/2019 showed a polyp."
    assert not run(clf, s, "polyp").historical  # a day-precise date needs the note date
    assert run(clf, s, "polyp", note_date=dt.date(2020, 6, 1)).historical
    assert not run(clf, s, "polyp", note_date=dt.date(2019, 3, 5)).historical
    s = "Admitted with sepsis in March 2021."
    assert run(clf, s, "sepsis", note_date=dt.date(2023, 1, 10)).historical
    assert not run(clf, s, "sepsis", note_date=dt.date(2021, 3, 20)).historical  # "March" runs to the 31st
    s = "He had a stroke in 2011."
    assert run(clf, s, "stroke", note_date=dt.date(2014, 2, 1)).historical
    assert not run(clf, s, "stroke", note_date=dt.date(2011, 12, 20)).historical
    assert not run(clf, s, "stroke").historical  # no note date: an absolute date says nothing


def test_classify_targets_passes_the_note_date(clf):
    text = "Biopsy on 2020-01-10 showed lymphoma. Fever on 2020-05-02."
    spans = [(text.index(w), text.index(w) + len(w)) for w in ("lymphoma", "Fever")]
    res = clf.classify_targets(text, spans, note_date=dt.date(2020, 5, 3))
    assert [r.historical for r in res] == [True, False]


# --------------------------------------------------------------------------- conditionals / instructions
@pytest.mark.parametrize("sentence,concept", [
    ("Call the clinic if you notice bleeding.", "bleeding"),
    ("Should the swelling increase, come back to the clinic.", "swelling"),
    ("In the event of chest pain, dial 911.", "chest pain"),
    ("Return to the emergency room for worsening headache.", "worsening headache"),
    ("Take ibuprofen as needed for pain.", "pain"),
    ("Come back for fever above 38.5.", "fever"),
])
def test_conditionals_and_instructions_are_hypothetical(clf, sentence, concept):
    res = run(clf, sentence, concept)
    assert res.assertion is A.HYPOTHETICAL, res.triggers


def test_a_condition_does_not_reach_past_its_sentence(clf):
    text = "Return if vomiting recurs. Abdominal pain improved."
    i = text.index("Abdominal pain")
    assert clf.classify(text, i, i + len("Abdominal pain")).assertion is A.PRESENT


# --------------------------------------------------------------------------- experiencer
@pytest.mark.parametrize("sentence,concept,who", [
    ("His mother died of ovarian cancer.", "ovarian cancer", X.FAMILY),
    ("Paternal grandfather had a myocardial infarction.", "myocardial infarction", X.FAMILY),
    ("Her brother has type 1 diabetes.", "type 1 diabetes", X.FAMILY),
    ("The donor was CMV positive.", "CMV", X.OTHER),
    ("Her husband has influenza.", "influenza", X.OTHER),
    ("His roommate tested positive for tuberculosis.", "tuberculosis", X.OTHER),
])
def test_experiencer_other_than_the_patient(clf, sentence, concept, who):
    res = run(clf, sentence, concept)
    assert res.experiencer is who, res.triggers


def test_family_condition_is_historical_but_the_patients_is_not(clf):
    assert run(clf, "Sister with lupus.", "lupus").historical
    assert not run(clf, "Patient with lupus flare.", "lupus flare").historical


# --------------------------------------------------------------------------- social-history topics
@pytest.mark.parametrize("sentence,concept,absent", [
    ("Denies tobacco.", "tobacco", True),
    ("He smokes half a pack of cigarettes a day.", "cigarettes", False),
    ("Drinks alcohol socially.", "alcohol", False),
    ("No illicit drug use.", "illicit drug use", True),
])
def test_social_history_topics_lean_historical(clf, sentence, concept, absent):
    res = run(clf, sentence, concept)
    assert res.historical, res.triggers
    assert (res.assertion is A.ABSENT) is absent


def test_social_topic_lean_is_blocked_by_an_acute_word(clf):
    assert not run(clf, "Admitted for alcohol withdrawal.", "alcohol withdrawal").historical
    assert not run(clf, "Return if you resume smoking.", "smoking").historical  # hypothetical, not history


# --------------------------------------------------------------------------- inverted "should", early life, last stay
@pytest.mark.parametrize("sentence,concept", [
    ("Should the rash spread, stop the cream.", "rash"),
    ("Should fever recur, she will come in.", "fever"),
    ("He will call, and should you notice swelling, elevate the leg.", "swelling"),
    ("Should symptoms of infection appear, start the antibiotic.", "infection"),
])
def test_inverted_should_is_a_condition(clf, sentence, concept):
    assert run(clf, sentence, concept).assertion is A.HYPOTHETICAL


@pytest.mark.parametrize("sentence,concept", [
    ("She should continue metformin for diabetes.", "diabetes"),
    ("He should follow up with cardiology about the murmur.", "murmur"),
    ("Patients should avoid NSAIDs with renal failure.", "renal failure"),
])
def test_should_before_a_verb_is_not_a_condition(clf, sentence, concept):
    assert run(clf, sentence, concept).assertion is A.PRESENT


@pytest.mark.parametrize("sentence,concept", [
    ("Asthma as a child, none since.", "Asthma"),
    ("She had rheumatic fever in childhood.", "rheumatic fever"),
    ("Appendectomy when a teenager.", "Appendectomy"),
    ("Pneumonia during her last admission.", "Pneumonia"),
    ("At the previous visit the ulcer was larger.", "ulcer"),
])
def test_early_life_and_earlier_stays_are_historical(clf, sentence, concept):
    assert run(clf, sentence, concept).historical


def test_a_previous_hospital_is_a_place_not_a_time(clf):
    assert not run(clf, "Transferred from the previous hospital with sepsis.", "sepsis").historical


def test_personal_history_ends_the_family_scope(clf):
    s = "Family history of glaucoma and a personal history of migraine."
    fam, own = run(clf, s, "glaucoma"), run(clf, s, "migraine")
    assert fam.experiencer is X.FAMILY
    assert own.experiencer is X.PATIENT and own.historical
    s = "His father had gout; the patient's own history includes psoriasis."
    assert run(clf, s, "psoriasis").experiencer is X.PATIENT


@pytest.mark.parametrize("sentence,concept", [
    ("There are no detected fractures.", "fractures"),
    ("No seen abnormality in the liver.", "abnormality"),
])
def test_no_before_a_participle_still_negates_forward(clf, sentence, concept):
    assert run(clf, sentence, concept).assertion is A.ABSENT


def test_classify_targets_uses_dates_already_resolved(clf):
    from extractors.dates import DateExtractor

    text = "Biopsy on 2020-01-10 showed lymphoma. Fever on 2020-05-02. Gout 3 years ago."
    spans = [(text.index(w), text.index(w) + len(w)) for w in ("lymphoma", "Fever", "Gout")]
    de = DateExtractor()
    exprs = de.find(text)
    de.resolve(text, exprs, dt.date(2020, 5, 3), True)
    res = clf.classify_targets(text, spans, note_date=dt.date(2020, 5, 3), dates=exprs)
    assert [r.historical for r in res] == [True, False, True]
    assert res == clf.classify_targets(text, spans, note_date=dt.date(2020, 5, 3))  # same as searching
    # note date unknown: day-precise dates say nothing, the offset of "3 years ago" still counts
    exprs = de.find(text)
    de.resolve(text, exprs, None, False)
    assert [r.historical for r in clf.classify_targets(text, spans, dates=exprs)] == [False, False, True]


def test_prn_makes_the_condition_hypothetical_not_the_drug(clf):
    for s, drug, cond in (("Oxycodone 5 mg PRN pain.", "Oxycodone", "pain"),
                          ("Ondansetron prn for nausea.", "Ondansetron", "nausea"),
                          ("Lorazepam 1 mg q6h p.r.n. anxiety.", "Lorazepam", "anxiety")):
        assert run(clf, s, drug).assertion is A.PRESENT, s
        assert run(clf, s, cond).assertion is A.HYPOTHETICAL, s


@pytest.mark.parametrize("sentence,concept,historical", [
    ("The left renal cyst is again seen.", "left renal cyst", True),
    ("Again noted is a small calcified granuloma.", "calcified granuloma", True),
    ("She has a fever again today.", "fever", False),
    ("He is vomiting again.", "vomiting", False),
])
def test_again_seen_is_a_known_finding_but_again_alone_is_not(clf, sentence, concept, historical):
    assert run(clf, sentence, concept).historical is historical


@pytest.mark.parametrize("sentence,concept", [
    ("Borderline personality disorder.", "personality disorder"),
    ("She is in no apparent distress.", "distress"),
    ("Blood pressure is borderline high with hypertension.", "hypertension"),
])
def test_borderline_and_apparent_are_not_uncertainty(clf, sentence, concept):
    assert run(clf, sentence, concept).assertion is not A.POSSIBLE


@pytest.mark.parametrize("sentence,drug,condition", [
    ("Enoxaparin 40 mg SC daily for DVT prophylaxis.", "Enoxaparin", "DVT"),
    ("Started heparin for VTE prophylaxis.", "heparin", "VTE"),
    ("Pantoprazole for stress ulcer prophylaxis.", "Pantoprazole", "stress ulcer"),
])
def test_prophylaxis_negates_the_condition_not_the_drug(clf, sentence, drug, condition):
    assert run(clf, sentence, drug).assertion is A.PRESENT
    assert run(clf, sentence, condition).assertion is A.ABSENT


@pytest.mark.parametrize("sentence,concept", [
    ("CT chest to evaluate for pulmonary embolism.", "pulmonary embolism"),
    ("Doppler ultrasound performed to assess for deep vein thrombosis.", "deep vein thrombosis"),
    ("MRI for evaluation of osteomyelitis.", "osteomyelitis"),
])
def test_a_test_done_to_evaluate_for_x_leaves_x_open(clf, sentence, concept):
    assert run(clf, sentence, concept).assertion is A.POSSIBLE


@pytest.mark.parametrize("sentence,concept", [
    ("No lymph nodes were submitted to assess metastatic disease.", "metastatic disease"),
    ("There is no contrast given to evaluate an aortic dissection.", "aortic dissection"),
    ("No sputum was available to evaluate tuberculosis.", "tuberculosis"),
])
def test_a_negated_sample_does_not_negate_what_it_was_meant_to_study(clf, sentence, concept):
    res = run(clf, sentence, concept)
    assert res.assertion is A.PRESENT, res.triggers
    project = AssertionClassifier.from_rules(clf.rules.without({"term_to_evaluate"}))
    assert run(project, sentence, concept).assertion is A.ABSENT  # the negation reached it without the stop


@pytest.mark.parametrize("sentence,concept", [
    ("Echocardiogram ordered to evaluate his murmur.", "murmur"),
    ("Follow-up visit in 3 months to assess her knee pain.", "knee pain"),
])
def test_what_a_test_studies_without_for_is_not_made_uncertain(clf, sentence, concept):
    # 'to evaluate X' studies X, often a finding already there; 'to evaluate for X' looks for X (possible)
    assert run(clf, sentence, concept).assertion is A.PRESENT


@pytest.mark.parametrize("sentence,concept,who", [
    ("He lives with his wife who has dementia.", "dementia", X.OTHER),
    ("Her father, who had a stroke at 60, is alive.", "stroke", X.FAMILY),
    ("His brother whose colon cancer was found at 50.", "colon cancer", X.FAMILY),
])
def test_a_relative_clause_keeps_its_experiencer(clf, sentence, concept, who):
    assert run(clf, sentence, concept).experiencer is who


@pytest.mark.parametrize("sentence,concept,hypothetical", [
    ("Call your doctor for a temperature above 38.5.", "temperature", True),
    ("Seek medical attention if bleeding persists.", "bleeding", True),
    ("Contact the clinic with any new rash.", "rash", True),
    ("Return to the ED should the pain worsen.", "pain", True),
    ("She returned with a productive cough.", "productive cough", False),
    ("Patient is alert and oriented, in no distress, with a mild cough.", "mild cough", False),
    # what to watch for is a condition that may come: "be aware of", "be alert for", "on the lookout for"
    ("I encouraged the patient to be aware of abdominal changes including diarrhea.", "diarrhea", True),
    ("She should stay alert for any fever over the next days.", "fever", True),
    ("Family is on the lookout for new bruising.", "bruising", True),
    ("He is aware of his diagnosis of diabetes.", "diabetes", False),
    # past events and reasons are not instructions: "went", "presented", "prompted", "advised to call because"
    ("She went to the emergency room for chest pain.", "chest pain", False),
    ("He presented to the ED with worsening headache.", "headache", False),
    ("Chest pain prompted a visit to the ER.", "Chest pain", False),
    ("She was advised to call because her rash had spread.", "rash", False),
    ("He returned to the clinic with a fever.", "fever", False),
])
def test_instructions_need_their_preposition(clf, sentence, concept, hypothetical):
    assert (run(clf, sentence, concept).assertion is A.HYPOTHETICAL) is hypothetical


@pytest.mark.parametrize("sentence,concept", [
    ("Chronic diarrhea for six months.", "diarrhea"),
    ("Indication: chronic cough.", "cough"),
])
def test_chronic_is_not_by_itself_history(clf, sentence, concept):
    # the dev kit marks a chronic problem that is the reason for the visit as current
    assert not run(clf, sentence, concept).historical


@pytest.mark.parametrize("sentence,concept,historical", [
    ("He has no drug allergies.", "drug allergies", True),
    ("Penicillin allergy.", "Penicillin allergy", True),
    ("NKDA.", "NKDA", True),
    ("She developed a new allergy to sulfa today.", "allergy", False),
])
def test_a_documented_allergy_is_history(clf, sentence, concept, historical):
    assert run(clf, sentence, concept).historical is historical


@pytest.mark.parametrize("sentence,concept", [
    ("Breast cancer status post lumpectomy and radiation.", "Breast cancer"),
    ("Atrial fibrillation, status post ablation.", "Atrial fibrillation"),
    ("Appendicitis s/p laparoscopic appendectomy.", "Appendicitis"),
    ("COPD s/p right upper lobectomy.", "COPD"),
    ("Gallstones, s/p cholecystectomy.", "Gallstones"),
    ("Severe aortic stenosis status post valve replacement.", "aortic stenosis"),
])
def test_the_condition_before_status_post_is_historical(clf, sentence, concept):
    res = run(clf, sentence, concept)
    assert res.historical and res.assertion is A.PRESENT
    assert {"hist_status_post_condition", "hist_s_p_condition"} & set(ids(res)), res.triggers


@pytest.mark.parametrize("sentence,procedure,reason", [
    ("Status post coiling for a cerebral aneurysm.", "coiling", "cerebral aneurysm"),
    ("Status post chest tube placement for pneumothorax.", "chest tube placement", "pneumothorax"),
    ("S/p intubation for respiratory failure.", "intubation", "respiratory failure"),
    ("s/p stenting due to restenosis.", "stenting", "restenosis"),
])
def test_status_post_makes_the_procedure_past_not_its_reason(clf, sentence, procedure, reason):
    """The reason a procedure was done for may still be current, as with the reason a drug was stopped."""
    assert run(clf, sentence, procedure).historical is True
    assert run(clf, sentence, reason).historical is False


@pytest.mark.parametrize("sentence,concept", [
    ("Past Surgical History:  Tonsillectomy.", "Tonsillectomy"),
    ("PAST SURGICAL HISTORY:  Hernia repair and appendectomy.", "appendectomy"),
    ("Seen today.  Past psychiatric history:  depression.", "depression"),
])
def test_the_words_of_a_known_history_title_are_the_sections_not_a_trigger(clf, sentence, concept):
    res = run(clf, sentence, concept)
    assert res.historical and res.triggers[0].startswith("section:"), res.triggers


def test_an_unknown_header_keeps_its_history_words(clf):
    res = run(clf, "PRIOR PROCEDURES:  Hernia repair.", "Hernia repair")
    assert res.historical and "hist_previous" in ids(res), res.triggers
