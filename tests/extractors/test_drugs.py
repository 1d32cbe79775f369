from conftest import of_type, one


def test_drug_attributes_and_started(extract):
    facts = extract("Started Lasix 40 mg PO daily for leg edema.")
    d = one(facts, "DRUG", "furosemide")
    assert d.text == "Lasix"
    assert d.attributes["dose"] == 40 and d.attributes["unit"] == "mg"
    assert d.attributes["route"] == "oral" and d.attributes["frequency"] == "daily"
    assert d.attributes["change"] == "started"
    assert d.codes["DRUGBANK"] == "DB00695" and d.codes["MESH"] == "D049994" and d.codes["UNII"] == "7LXU5N7ZO5"
    assert d.attributes["brand"] == "Lasix"
    edema = one(facts, "PROBLEM", "edema")
    assert [(r.kind, r.target) for r in d.relations] == [("indication_of", edema.fact_id)]


def test_change_status_variants(extract):
    cases = {
        "Furosemide increased to 80 mg daily.": ("increased", 80),
        "Metoprolol was decreased to 12.5 mg BID.": ("decreased", 12.5),
        "Warfarin held for procedure.": ("held", None),
        "Continue atorvastatin 40 mg qHS.": ("continued", 40),
        "Furosemide was stopped because of hypotension.": ("stopped", None),
        "Prednisone taper: reduce to 20 mg daily.": ("decreased", 20),
        "Switched from lisinopril to losartan.": ("changed", None),
    }
    for text, (status, dose) in cases.items():
        facts = extract(text)
        d = of_type(facts, "DRUG")[0]
        assert d.attributes.get("change") == status, (text, d.attributes)
        assert d.attributes.get("dose") == dose, (text, d.attributes)


def test_medication_list_line_has_no_change(extract):
    facts = extract("Medications:\nLisinopril 10 mg daily\nMetformin 500 mg PO BID\nInsulin glargine 20 units SC qHS\n")
    drugs = of_type(facts, "DRUG")
    assert [(d.name, d.attributes.get("dose"), d.attributes.get("unit"), d.attributes.get("frequency")) for d in drugs] == [
        ("lisinopril", 10, "mg", "daily"), ("metformin", 500, "mg", "twice daily"),
        ("insulin glargine", 20, "units", "at bedtime")]
    assert all("change" not in d.attributes for d in drugs)
    assert drugs[2].attributes["route"] == "subcutaneous"
    assert all(d.section == "medications" for d in drugs)


def test_brand_to_generic(extract):
    facts = extract("Home meds: Coumadin 5 mg, Tylenol 650 mg PRN, Zofran 4 mg, Eliquis 5 mg BID.")
    assert [d.name for d in of_type(facts, "DRUG")] == ["warfarin", "acetaminophen", "ondansetron", "apixaban"]


def test_stop_list_common_words_are_not_drugs(extract):
    facts = extract("He can rest today. Plan: water and sleep. She is alert and the air is clear. Iron 50.")
    assert of_type(facts, "DRUG") == []


def test_coordinated_drugs_share_the_trigger(extract):
    facts = extract("Started lisinopril and metformin today.")
    assert [d.attributes.get("change") for d in of_type(facts, "DRUG")] == ["started", "started"]


def test_a_passive_stop_names_the_drug_before_it_not_the_one_started_after(extract):
    for text in ("Lisinopril was stopped, and losartan was started.",
                 "Metformin was discontinued and insulin glargine was begun at night.",
                 "Amlodipine is held; hydrochlorothiazide was started instead."):
        drugs = of_type(extract(text), "DRUG")
        assert [d.attributes.get("change") for d in drugs] == ["stopped" if "held" not in text else "held", "started"], (
            text, [(d.name, d.attributes) for d in drugs])


def test_adverse_event_relations(extract):
    cases = [
        ("Rash after starting amoxicillin.", "rash", "amoxicillin", "ae:after_starting"),
        ("Metformin discontinued due to lactic acidosis.", "lactic acidosis", "metformin", "ae:stopped_due_to"),
        ("Hyperkalemia secondary to lisinopril.", "hyperkalemia", "lisinopril", "ae:secondary_to"),
        ("Warfarin-induced bleeding was noted.", "bleeding", "warfarin", "ae:induced"),
        ("Furosemide was stopped because of hypotension.", "hypotension", "furosemide", "ae:stopped_due_to"),
    ]
    for text, prob, drug, rule in cases:
        facts = extract(text)
        p, d = one(facts, "PROBLEM", prob), one(facts, "DRUG", drug)
        assert [(r.kind, r.target, r.rule) for r in p.relations] == [("adverse_event_of", d.fact_id, rule)], text
        assert not any(r.kind == "indication_of" for r in d.relations), text


def test_indication_relation(extract):
    facts = extract("Lisinopril for hypertension. Metformin 500 mg BID for type 2 diabetes.")
    lis, htn = one(facts, "DRUG", "lisinopril"), one(facts, "PROBLEM", "hypertension")
    met, dm = one(facts, "DRUG", "metformin"), one(facts, "PROBLEM", "type 2 diabetes mellitus")
    assert [(r.kind, r.target) for r in lis.relations] == [("indication_of", htn.fact_id)]
    assert [(r.kind, r.target) for r in met.relations] == [("indication_of", dm.fact_id)]
    assert htn.relations == [] and dm.relations == []


def test_no_relation_across_sentences(extract):
    facts = extract("Started amoxicillin. Rash resolved last year.")
    assert all(not f.relations for f in facts)


def test_morphine_abbreviation_by_dose_context(extract):
    facts = extract("MS 4 mg IV q4h PRN for pain.")
    d = one(facts, "DRUG", "morphine")
    assert d.text == "MS" and d.attributes["dose"] == 4 and d.attributes["route"] == "intravenous"


def test_hard_wrapped_sentence_keeps_the_relation(extract):
    facts = extract("Hospital Course:\nVancomycin was discontinued due to\nacute kidney injury.\n")
    aki, vanc = one(facts, "PROBLEM", "acute kidney injury"), one(facts, "DRUG", "vancomycin")
    assert [(r.kind, r.target) for r in aki.relations] == [("adverse_event_of", vanc.fact_id)]
    assert vanc.attributes["change"] == "stopped"


def test_allergy_list_reaction(extract):
    facts = extract("Allergies: penicillin (rash), sulfa (hives)\n")
    pen, sulfa = one(facts, "DRUG", "penicillin"), one(facts, "DRUG", "sulfonamides")
    rash, hives = [f for f in of_type(facts, "PROBLEM")]
    assert (rash.text, hives.text, hives.name) == ("rash", "hives", "rash")
    assert [(r.kind, r.target) for r in rash.relations] == [("adverse_event_of", pen.fact_id)]
    assert [(r.kind, r.target) for r in hives.relations] == [("adverse_event_of", sulfa.fact_id)]
    # the same pattern outside an allergy context is not a reaction
    plain = extract("Plan: aspirin (81 mg) and fever (resolved).\n")
    assert all(r.kind == "dose_of" for f in plain for r in f.relations)


def test_drug_dose_relation_with_exact_spans(extract):
    text = "Medications:\nLasix 40 mg PO daily\nMetformin 500 mg BID\nGave 2 mg of morphine IV.\nAspirin daily.\n"
    facts = extract(text)
    doses = of_type(facts, "DOSE")
    drugs = {f.fact_id: f for f in of_type(facts, "DRUG")}
    got = []
    for d in doses:
        assert [r.kind for r in d.relations] == ["dose_of"]
        drug = drugs[d.relations[0].target]
        got.append((drug.name, d.text, d.name, d.attributes["dose"], d.attributes["unit"]))
    assert got == [("furosemide", "40 mg", "40 mg", 40, "mg"), ("metformin", "500 mg", "500 mg", 500, "mg"),
                   ("morphine", "2 mg", "2 mg", 2, "mg")]  # aspirin has no dose: no DOSE fact
    for f in facts:
        assert text[f.start:f.end] == f.text
