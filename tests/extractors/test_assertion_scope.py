"""extractors.assertion: post-negations, clause scope and the reason a drug was stopped for.

Wordings written for these tests (not sentences of the dev kit); each rule is checked with several.
"""
from __future__ import annotations

import json

import pytest

from clinqa.records import Assertion
from extractors.assertion import AssertionClassifier, RuleError

A = Assertion


@pytest.fixture(scope="module")
def clf() -> AssertionClassifier:
    c = AssertionClassifier()
    c.warm_up()
    return c


def run(clf, sentence: str, concept: str):
    i = sentence.index(concept)
    return clf.classify(sentence, i, i + len(concept))


@pytest.mark.parametrize("sentence,concept", [
    ("Aspirin was not given.", "Aspirin"),
    ("Heparin was not administered in the field.", "Heparin"),
    ("Chest pain was denied.", "Chest pain"),
    ("Fevers and chills were denied.", "Fevers"),
    ("Fever is absent.", "Fever"),
    ("Pneumonia was ruled out.", "Pneumonia"),
    ("Edema: none.", "Edema"),
    ("HIV: negative.", "HIV"),
    ("Pleural effusion not seen.", "Pleural effusion"),
    ("A mass is not seen on this study.", "mass"),
    ("Murmurs were not heard.", "Murmurs"),
    ("Cough has not been reported.", "Cough"),
    ("Lymphadenopathy is not palpable.", "Lymphadenopathy"),
    ("The previously described nodule is no longer seen.", "nodule"),
    ("Pericardial effusion is not identified.", "Pericardial effusion"),
])
def test_post_negation_reads_backward(clf, sentence, concept):
    res = run(clf, sentence, concept)
    assert res.assertion is A.ABSENT, res.triggers


@pytest.mark.parametrize("sentence,concept", [
    ("She was not given aspirin.", "aspirin"),
    ("No mass seen.", "mass"),
    ("We have not seen any rash.", "rash"),
    ("He has not been given antibiotics.", "antibiotics"),
    ("He denied chest pain.", "chest pain"),
    ("SOCIAL HISTORY: Denies alcohol or tobacco.", "tobacco"),
])
def test_the_forward_reading_of_the_same_words_still_applies(clf, sentence, concept):
    assert run(clf, sentence, concept).assertion is A.ABSENT


def test_a_phrase_that_reads_both_ways_keeps_both_rules(clf):
    """'not seen' is a forward rule and a backward one of the same category: the matcher keeps both."""
    rules = clf.rules
    toks = "mass not seen".split()
    found = {(m.rule.direction, m.start, m.end) for m in rules.match(toks, 0, len(toks))}
    assert {d for d, _, _ in found} >= {"FORWARD", "BACKWARD"}


@pytest.mark.parametrize("sentence,concept", [
    ("Vomiting was noted, and fever was not seen.", "Vomiting"),
    ("Cough is present and fever absent.", "Cough"),
    ("Rash was reported, chest pain was denied.", "Rash"),
    ("Denies fever and has cough.", "cough"),
    ("No chest pain, but she has palpitations.", "palpitations"),
    ("Negative for nausea, and is tolerating a diet without vomiting.", "diet"),
    ("Given no sign of bleeding, the patient remained hemodynamically stable.", "hemodynamically stable"),
    ("No fever today, she reports a productive cough.", "productive cough"),
    ("He refused the morphine because he felt nauseated afterwards.", "nauseated"),
    ("Denies headache since he started taking the new inhaler.", "inhaler"),
])
def test_a_scope_stays_in_its_clause(clf, sentence, concept):
    assert run(clf, sentence, concept).assertion is A.PRESENT


@pytest.mark.parametrize("sentence,concept", [
    ("Vomiting was noted, and fever was not seen.", "fever"),
    ("Denies fever, chills, or night sweats.", "night sweats"),
    ("Fever, chills and night sweats are absent.", "Fever"),
    ("Nausea and vomiting were not reported.", "Nausea"),
    ("Her father, who had a stroke at 60, is alive.", "stroke"),
    ("No history of asthma as well as eczema.", "eczema"),
    ("Denies chest pain when walking or dyspnea.", "dyspnea"),
])
def test_lists_and_relative_clauses_stay_in_scope(clf, sentence, concept):
    res = run(clf, sentence, concept)
    if concept == "stroke":
        assert res.experiencer.value == "family"
    else:
        assert res.assertion is A.ABSENT, res.triggers


@pytest.mark.parametrize("sentence,concept", [
    ("If the pain worsens and he has fever, return to the ED.", "fever"),
    ("Should the swelling increase, and she develops redness, call the clinic.", "redness"),
    ("Return if vomiting recurs, or he has blood in the stool.", "blood in the stool"),
])
def test_a_condition_spans_its_coordinated_clauses(clf, sentence, concept):
    assert run(clf, sentence, concept).assertion is A.HYPOTHETICAL


def test_clause_categories_must_be_known(tmp_path):
    from extractors.assertion import RuleError

    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"version": "t", "defaults": {"clause_categories": ["NEGATED"]}, "rules": []}))
    with pytest.raises(RuleError, match="clause_categories"):
        AssertionClassifier(rules).warm_up()


@pytest.mark.parametrize("sentence,concept", [
    ("Stopped lisinopril (dry cough).", "cough"),
    ("Lisinopril was discontinued because of rash.", "rash"),
    ("He stopped metformin due to diarrhea.", "diarrhea"),
    ("Discontinued atorvastatin for myalgias.", "myalgias"),
    ("She quit amiodarone after thyroid dysfunction.", "thyroid dysfunction"),
])
def test_the_reason_a_drug_was_stopped_for_stays_present(clf, sentence, concept):
    res = run(clf, sentence, concept)
    assert res.assertion is A.PRESENT, res.triggers


@pytest.mark.parametrize("sentence,concept", [
    ("Stopped lisinopril (dry cough).", "lisinopril"),
    ("He quit smoking in 2005.", "smoking"),
    ("Discontinued atorvastatin for myalgias.", "atorvastatin"),
])
def test_the_stopped_drug_or_habit_itself_is_still_stopped(clf, sentence, concept):
    res = run(clf, sentence, concept)
    assert res.assertion is A.ABSENT and res.historical, res.triggers


def test_scope_breaks_and_clause_words_are_data(tmp_path):
    rules = tmp_path / "rules.json"
    base = {"version": "t", "defaults": {"max_scope": 8}, "rules": [
        {"id": "stop", "category": "NEGATED_EXISTENCE", "literal": "halted", "direction": "FORWARD"},
        {"id": "post", "category": "NEGATED_EXISTENCE", "literal": "gone", "direction": "BACKWARD"}]}
    rules.write_text(json.dumps(base))
    c = AssertionClassifier(rules)
    assert run(c, "halted drug x ( cough )", "cough").assertion is A.ABSENT
    assert run(c, "pain was seen , fever gone", "pain").assertion is A.ABSENT
    base["rules"][0]["scope_breaks"] = ["("]
    base["defaults"].update(clause_verbs=["was"], clause_separators=[","])
    rules.write_text(json.dumps(base))
    c = AssertionClassifier(rules)
    assert run(c, "halted drug x ( cough )", "cough").assertion is A.PRESENT
    assert run(c, "halted drug x ( cough )", "drug x").assertion is A.ABSENT
    assert run(c, "pain was seen , fever gone", "pain").assertion is A.PRESENT
    assert run(c, "pain was seen , fever gone", "fever").assertion is A.ABSENT


@pytest.mark.parametrize("sentence,concept", [
    ("Measurements not obtainable.  REFERRING DIAGNOSIS: syncope and collapse.", "syncope"),
    ("Last period: {Not Entered}  Menstrual History:  post-menopausal", "post-menopausal"),
    ("No prior films for comparison  FINDINGS: small left pleural effusion.", "pleural effusion"),
    ("Patient denies  Family History: diabetes in her mother", "diabetes"),
])
def test_a_header_inside_the_sentence_ends_every_scope(clf, sentence, concept):
    """Upper-case or known section headers before a colon stop the triggers of the section before them; the
    general lexicons alone show it (no project rule such as the colon terminator takes part)."""
    project = {r.id for r in clf.rules.rules if r.origin == "clinqa"}
    general = AssertionClassifier.from_rules(clf.rules.without(project))
    for c in (general, clf):
        res = run(c, sentence, concept)
        assert res.assertion is A.PRESENT, res.triggers
    i = sentence.index(concept)
    assert clf.classify_targets(sentence, [(i, i + len(concept))])[0].assertion is A.PRESENT


@pytest.mark.parametrize("sentence,concept", [
    ("FEVER: none.", "FEVER"),
    ("CHEST PAIN: absent", "CHEST PAIN"),
    ("Findings: no pleural effusion.", "pleural effusion"),
    ("Mild cough (not productive): no fever.", "fever"),
])
def test_a_header_does_not_stop_its_own_value(clf, sentence, concept):
    assert run(clf, sentence, concept).assertion is A.ABSENT


@pytest.mark.parametrize("sentence,concept", [
    ("Indication: chest pain and DYSPNEA  TROPONIN ASSAY:  The result is negative.", "DYSPNEA"),
    ("History: fall with HEAD INJURY  CT HEAD:  This study is negative.", "HEAD INJURY"),
    ("Reason: PALPITATIONS  HOLTER SUMMARY:  Rhythm was negative for pauses.", "PALPITATIONS"),
])
def test_an_upper_case_target_before_a_header_is_not_part_of_it(clf, sentence, concept):
    """A header made of upper-case words stops at the target: the target written in capitals right before it
    is not swallowed into the header, so the header still ends a scope that reaches back from the next
    section ('... is negative' read backward); the general lexicons alone show it (no colon terminator)."""
    project = {r.id for r in clf.rules.rules if r.origin == "clinqa"}
    general = AssertionClassifier.from_rules(clf.rules.without(project))
    for c in (general, clf):
        res = run(c, sentence, concept)
        assert res.assertion is A.PRESENT, res.triggers
    i = sentence.index(concept)
    assert general.classify_targets(sentence, [(i, i + len(concept))])[0].assertion is A.PRESENT


@pytest.mark.parametrize("sentence,concept,absent", [
    ("Blood cultures -ve for MRSA.", "MRSA", True),
    ("ROS -ve for chest pain, palpitations or syncope.", "palpitations", True),
    ("Stool sample was -ve for occult blood.", "occult blood", True),
    ("Abdomen soft w/o guarding.", "guarding", True),
    ("Throat swab +ve for streptococcus.", "streptococcus", False),
    ("Urine culture +ve for E. coli, no other growth.", "E. coli", False),
])
def test_written_variants_read_as_their_word(clf, sentence, concept, absent):
    """'-ve', '+ve' and 'w/o' are read as 'negative', 'positive' and 'without' (defaults.spellings), so the
    general lexicons' 'negative for' and 'without' cover them with no rule of their own; the general lexicons
    alone show it."""
    project = {r.id for r in clf.rules.rules if r.origin == "clinqa"} | set(clf.rules.prior_ids)
    general = AssertionClassifier.from_rules(clf.rules.without(project))
    for c in (general, clf):
        res = run(c, sentence, concept)
        assert (res.assertion is A.ABSENT) is absent, res.triggers
    i = sentence.index(concept)
    res = clf.classify_targets(sentence, [(i, i + len(concept))])[0]
    assert (res.assertion is A.ABSENT) is absent


def test_spellings_keep_the_written_span_and_are_checked(tmp_path):
    rules = AssertionClassifier().rules
    assert rules.tokenize("Cultures -VE for MRSA, w/o growth") == [
        "cultures", "negative", "for", "mrsa", ",", "without", "growth"]
    assert rules.tokenize("curve-vector w/other") == ["curve", "-", "vector", "w", "/", "other"]
    data = json.loads(AssertionClassifier().rules_path.read_text())
    for bad in ({"-ve": "not negative"}, {"ve": "negative"}, ["-ve"]):
        data["defaults"]["spellings"] = bad
        path = tmp_path / "rules.json"
        path.write_text(json.dumps(dict(data, imports=[])))
        with pytest.raises(RuleError, match="spellings"):
            AssertionClassifier(path).warm_up()


@pytest.mark.parametrize("sentence,concept", [
    ("No complications  DISCHARGE DIAGNOSIS(ES):  community acquired pneumonia", "pneumonia"),
    ("Without incident  PROCEDURE(S):  colonoscopy with biopsy", "colonoscopy"),
    ("Denies pain  FINDING(S):  small effusion", "small effusion"),
])
def test_a_header_with_a_plural_marker_ends_every_scope(clf, sentence, concept):
    """Template headers written 'DIAGNOSIS(ES):' / 'PROCEDURE(S):' are headers too (general lexicons alone)."""
    project = {r.id for r in clf.rules.rules if r.origin == "clinqa"}
    general = AssertionClassifier.from_rules(clf.rules.without(project))
    assert run(general, sentence, concept).assertion is A.PRESENT


def test_a_line_header_with_a_plural_marker_opens_a_new_section(clf):
    text = "PAST MEDICAL HISTORY: asthma\nDISCHARGE DIAGNOSIS(ES): pneumonia\n"
    spans = [(text.index(w), text.index(w) + len(w)) for w in ("asthma", "pneumonia")]
    asthma, pneumonia = clf.classify_targets(text, spans)
    assert asthma.historical and not pneumonia.historical, (asthma.triggers, pneumonia.triggers)


@pytest.mark.parametrize("sentence,concept,absent", [
    ("We will restart anticoagulation once the bleeding has resolved.", "bleeding", False),
    ("Hold the antibiotic until the rash has resolved.", "rash", False),
    ("Keep him NPO till the ileus has resolved.", "ileus", False),
    ("Her headache has resolved.", "headache", True),
    ("His cough resolved once antibiotics were started.", "cough", True),
    ("Until last week she had diarrhea, but the nausea has resolved.", "nausea", True),
    ("Lisinopril once daily and the cough has resolved.", "cough", True),
    ("He had fevers until yesterday and the headache has resolved.", "headache", True),
])
def test_a_resolution_still_expected_is_not_a_negation(clf, sentence, concept, absent):
    """'once / until X has resolved' names a change still awaited (rule not_after); the same words after the
    target, or in another clause, do not stop '[X] has resolved'."""
    res = run(clf, sentence, concept)
    assert (res.assertion is A.ABSENT) is absent, res.triggers


@pytest.mark.parametrize("sentence,outside,inside", [
    ("Known problems: atrial fibrillation and heart failure (pulmonary embolism excluded by CTPA).",
     "heart failure", "pulmonary embolism"),
    ("Cellulitis of the left leg (no osteomyelitis on MRI) improving on cefazolin.", "Cellulitis", "osteomyelitis"),
    ("Chest pain at rest (troponin negative, no ST changes) persists despite nitroglycerin.", "Chest pain", "ST changes"),
])
def test_a_trigger_in_brackets_stays_in_them(clf, sentence, outside, inside):
    """A bracketed aside is a clause of its own: its negation reaches its own words, not the ones around it."""
    assert run(clf, sentence, inside).assertion is A.ABSENT
    assert run(clf, sentence, outside).assertion is A.PRESENT


def test_a_trigger_outside_brackets_still_reaches_into_them(clf):
    assert run(clf, "No fever (measured at home) or chills.", "chills").assertion is A.ABSENT
    assert run(clf, "Pulmonary embolism (on CTPA) was ruled out.", "Pulmonary embolism").assertion is A.ABSENT


@pytest.mark.parametrize("sentence,concept,assertion", [
    ("Non-compressible, occlusive thrombus in the left popliteal vein.", "occlusive thrombus", A.PRESENT),
    ("Abdomen non-tender, mass in the right lower quadrant.", "mass", A.PRESENT),
    ("Non-pitting edema of both ankles.", "edema", A.PRESENT),
    ("Non-bloody diarrhea for 3 days.", "diarrhea", A.PRESENT),
    ("Abdomen non-tender.", "tender", A.ABSENT),
    ("Abdomen soft, non distended.", "distended", A.ABSENT),
])
def test_non_negates_only_the_word_it_is_written_onto(clf, sentence, concept, assertion):
    assert run(clf, sentence, concept).assertion is assertion
