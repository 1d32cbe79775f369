import pytest
from conftest import of_type

from extractors.sections import SectionDetector, canonical_title

LETTER = """Diagnoses:
- Diffuse large B-cell lymphoma

History of Present Illness:
Patient presented with fatigue.

Past Medical History: hypertension, DM2
Family History:
Mother with breast cancer.

Allergies: penicillin (rash)

Hospital Course:
Uneventful.

Discharge Medications:
Lisinopril 10 mg daily

Assessment and Plan:
Continue therapy.
"""


def test_discharge_letter_sections_and_fact_sections(extract):
    facts = extract(LETTER)
    secs = of_type(facts, "SECTION")
    titles = [f.attributes["section"] for f in secs]
    assert titles == ["diagnoses", "history of present illness", "past medical history", "family history",
                      "allergies", "hospital course", "medications on discharge", "assessment and plan"]
    assert [f.text for f in secs][-2:] == ["Discharge Medications", "Assessment and Plan"]
    by_name = {f.name: f.section for f in facts if f.type.value != "SECTION"}
    assert by_name["diffuse large b-cell lymphoma"] == "diagnoses"
    assert by_name["hypertension"] == "past medical history"  # header with content on the same line
    assert by_name["breast cancer"] == "family history"
    assert by_name["lisinopril"] == "medications on discharge"
    assert by_name["penicillin"] == "allergies"


def test_section_variants_map_to_canonical_titles():
    d = SectionDetector()
    text = ("MEDICATIONS ON DISCHARGE:\nx\nMedications at discharge:\nx\n## Findings\nx\n**Impression**\nx\n"
            "A&P:\nx\nPE: General well\nLaboratory:\nx\nProcedure:\nx\nTherapy:\nx\nHistory:\nx\nPMH:\nx\n")
    got = [h.title for h in d.find(text)]
    assert got == ["medications on discharge", "medications on discharge", "findings", "impression",
                   "assessment and plan", "physical exam", "laboratory", "procedure", "therapy", "history",
                   "past medical history"]


def test_not_headers_in_prose():
    d = SectionDetector()
    # "plan" mid-sentence, "PE" without a colon, an unknown long line with a colon inside text
    text = "We discussed the plan with the family.\nPE\nThe findings: mild edema noted today.\nPlan to discharge home.\n"
    assert [h.title for h in d.find(text)] == []


def test_unknown_standalone_header_kept_with_own_title():
    d = SectionDetector()
    hs = d.find("Oncologic History:\nR-CHOP x6\n")
    assert [(h.title, h.rule.endswith("generic")) for h in hs] == [("oncologic history", True)]
    assert canonical_title("  Medications   on Discharge ") == "medications on discharge"


@pytest.mark.slow  # imports medspaCy (~4 s)
def test_medspacy_rule_format_loads():
    from importlib import resources

    from medspacy.section_detection import SectionRule

    path = resources.files("extractors.resources").joinpath("sections.json")
    rules = SectionRule.from_json(str(path))
    cats = {r.category for r in rules}
    assert {"assessment and plan", "medications on discharge", "family history", "hospital course"} <= cats
    # and the same file drives a medspaCy Sectionizer in a spaCy pipeline
    import spacy

    from extractors.sections import medspacy_sectionizer

    nlp = spacy.blank("en")
    medspacy_sectionizer(nlp)
    doc = nlp("Discharge Medications:\nLisinopril 10 mg daily\nFamily History:\nMother with cancer.")
    assert [(s.category, doc[s.title_start : s.title_end].text) for s in doc._.sections] == [
        ("medications on discharge", "Discharge Medications"), ("family history", "Family History")]
