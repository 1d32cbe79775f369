from conftest import of_type, one

from clinqa.records import FactType


def test_problems_with_icd10_codes(extract):
    facts = extract("PMH: hypertension, type 2 diabetes, COPD, atrial fibrillation, chronic kidney disease, "
                    "hypothyroidism and lactic acidosis.")
    codes = {f.name: f.codes.get("ICD10CM") for f in of_type(facts, "PROBLEM")}
    assert codes == {
        "hypertension": "I10", "type 2 diabetes mellitus": "E11.9", "chronic obstructive pulmonary disease": "J44.9",
        "atrial fibrillation": "I48.91", "chronic kidney disease": "N18.9", "hypothyroidism": "E03.9",
        "lactic acidosis": "E87.20",
    }


def test_icd_title_lookup_for_dictionary_problems(extract):
    # not in the curated table: coded by exact ICD-10-CM title match (MeSH dictionary finds the mention)
    p = one(extract("History of essential (primary) hypertension and hypokalemia."), "PROBLEM", "hypokalemia")
    assert p.codes["ICD10CM"] == "E87.6"
    from extractors.codes import icd10_lookup

    assert icd10_lookup("Essential (primary) hypertension") == "I10"
    assert icd10_lookup("acute appendicitis") == "K35.80" or icd10_lookup("acute appendicitis", "appendicitis") is not None


def test_mesh_dictionary_problems(extract):
    facts = extract("Findings consistent with cardiomegaly and splenomegaly; no hydronephrosis.")
    names = [f.name for f in of_type(facts, "PROBLEM")]
    assert "cardiomegaly" in names and "splenomegaly" in names and "hydronephrosis" in names
    assert all(f.codes.get("MESH", "").startswith("D") or f.codes.get("ICD10CM") for f in of_type(facts, "PROBLEM"))


def test_abbreviations(extract):
    facts = extract("Pt c/o SOB and CP, s/p CABG. PMH: HTN, DM2, CHF, COPD, MI.")
    probs = [(f.text, f.name) for f in of_type(facts, "PROBLEM")]
    assert probs == [("SOB", "shortness of breath"), ("CP", "chest pain"), ("HTN", "hypertension"),
                     ("DM2", "type 2 diabetes mellitus"), ("CHF", "heart failure"),
                     ("COPD", "chronic obstructive pulmonary disease"), ("MI", "myocardial infarction")]
    assert [(f.text, f.name) for f in of_type(facts, "PROCEDURE")] == [("CABG", "coronary artery bypass graft")]


def test_case_sensitive_abbreviations_do_not_fire_on_words(extract):
    facts = extract("Mrs. Smith and Ms. Jones came in. She mi ght go. Cp. Dm. The ms was ready.")
    assert of_type(facts, "PROBLEM") == [] and of_type(facts, "DRUG") == []


def test_ambiguous_ms(extract):
    ms = lambda text: [(f.type.value, f.name) for f in extract(text) if f.text == "MS"]
    assert ms("Known MS with relapsing-remitting course; MRI brain shows new demyelinating lesions.") == [
        ("PROBLEM", "multiple sclerosis")]
    assert ms("Echo shows severe MS with a mitral valve area of 1.0 cm2 and diastolic murmur.") == [
        ("PROBLEM", "mitral stenosis")]
    assert ms("MS 2 mg IV q2h PRN.") == [("DRUG", "morphine")]
    assert ms("Labs drawn at the MS clinic.") == []  # no context: no guess


def test_ambiguous_ra(extract):
    ra = lambda text: [(f.type.value, f.name) for f in extract(text) if f.text == "RA"]
    assert ra("Long-standing RA on methotrexate with synovitis of the hands.") == [("PROBLEM", "rheumatoid arthritis")]
    assert ra("Echo: the RA is dilated, RV normal.") == []  # right atrium: not a problem
    assert ra("Saturating 95% on RA.") == []  # room air


def test_ambiguous_pe(extract):
    pe = lambda text: [(f.type.value, f.name) for f in extract(text) if f.text == "PE" and f.type.value != "SECTION"]
    assert pe("CTA chest positive for segmental PE; started heparin.") == [("PROBLEM", "pulmonary embolism")]
    assert pe("PE: General: alert, no acute distress. Lungs clear to auscultation.") == []
    facts = extract("Physical Exam:\nPE normal, abdomen soft, non-tender.\n")
    assert [f for f in facts if f.text == "PE" and f.type.value != "SECTION"] == []


def test_procedures_and_imaging(extract):
    facts = extract("Underwent PET-CT, MRI of the brain and bone marrow biopsy; allogeneic stem cell "
                    "transplantation planned. Chest x-ray clear. Colonoscopy 2019.")
    got = [(f.name, f.attributes.get("category")) for f in of_type(facts, "PROCEDURE")]
    assert got == [("pet-ct", "imaging"), ("magnetic resonance imaging", "imaging"), ("bone marrow biopsy", "procedure"),
                   ("stem cell transplantation", "procedure"), ("chest x-ray", "imaging"), ("colonoscopy", "procedure")]


def test_longest_match_wins(extract):
    facts = extract("Diagnosed with diffuse large B-cell lymphoma and non-small cell lung cancer.")
    assert [f.text for f in of_type(facts, "PROBLEM")] == ["diffuse large B-cell lymphoma", "non-small cell lung cancer"]


def test_common_english_is_not_a_problem(extract):
    facts = extract("He has a cold drink. The plan is clear. She bites her nails. Good cues. Fine wits.")
    assert [f.text for f in of_type(facts, "PROBLEM")] == []


def test_plain_english_index_terms_are_not_problems(extract):
    """ICD-10-CM index terms such as 'lateral' or 'falling' are words of the report, not findings."""
    facts = extract("Chest X-ray, PA and lateral views: no infiltrate. She reports falling asleep late. Vomiting since noon.")
    problems = {f.text.lower() for f in facts if f.type == FactType.PROBLEM}
    assert "lateral" not in problems and "falling" not in problems
    assert "vomiting" in problems
