from conftest import of_type, one


def test_labs_values_units_flags(extract):
    facts = extract("Labs: Hgb 7.9 g/dL (L), WBC 15.2 H, plt 89, potassium of 6.1 mmol/L, "
                    "creatinine rose to 2.4 mg/dL, sodium 138, troponin < 0.01 ng/mL, HbA1c 8.2%.")
    got = {f.name: f.attributes for f in of_type(facts, "LAB")}
    assert got["hemoglobin"]["value"] == 7.9 and got["hemoglobin"]["unit"] == "g/dL" and got["hemoglobin"]["abnormal"] == "low"
    assert got["white blood cell count"]["value"] == 15.2 and got["white blood cell count"]["abnormal"] == "high"
    assert got["platelet count"]["value"] == 89.0 and got["platelet count"]["abnormal"] == "low"  # by reference range
    assert got["potassium"] == {"value": 6.1, "unit": "mmol/L", "abnormal": "high"}
    assert got["creatinine"]["value"] == 2.4 and got["creatinine"]["abnormal"] == "high"
    assert got["sodium"] == {"value": 138.0}  # normal: no flag
    assert got["troponin"]["qualifier"] == "<" and "abnormal" not in got["troponin"]
    assert got["hemoglobin a1c"]["value"] == 8.2 and got["hemoglobin a1c"]["abnormal"] == "high"
    assert all(isinstance(a["value"], float) for a in got.values())


def test_lab_span_and_explicit_reference_range(extract):
    text = "Ferritin 12 ng/mL (ref 20-300)."
    lab = one(extract(text), "LAB", "ferritin")
    assert lab.text == "Ferritin 12 ng/mL (ref 20-300)"
    assert lab.attributes["ref_range"] == "20-300" and lab.attributes["abnormal"] == "low"


def test_lab_words_flag_and_european_decimal(extract):
    facts = extract("Elevated CRP 85 mg/L. Hb 9,8 g/dL.")
    assert one(facts, "LAB", "c-reactive protein").attributes["abnormal"] == "high"
    assert one(facts, "LAB", "hemoglobin").attributes["value"] == 9.8


def test_lab_name_without_value_and_doses_are_not_results(extract):
    facts = extract("Potassium chloride 20 mEq PO daily. Vitamin D 1000 units daily. Check potassium tomorrow.")
    assert of_type(facts, "LAB") == []
    assert [d.name for d in of_type(facts, "DRUG")][:1] == ["potassium chloride"]


def test_vitals(extract):
    facts = extract("Vitals: T 101.2 F, HR 118, BP 88/50, RR 24, SpO2 89% on 2L NC, Wt 82 kg, BMI 31.2.")
    v = {f.name: f for f in of_type(facts, "VITAL")}
    assert v["temperature"].attributes == {"value": 101.2, "unit": "F", "abnormal": "high"}
    assert v["heart rate"].attributes == {"value": 118.0, "unit": "bpm", "abnormal": "high"}
    bp = v["blood pressure"]
    assert bp.text == "BP 88/50" and bp.attributes["systolic"] == 88 and bp.attributes["diastolic"] == 50
    assert bp.attributes["value"] == 88.0 and bp.attributes["abnormal"] == "low"
    assert v["respiratory rate"].attributes["value"] == 24.0 and v["respiratory rate"].attributes["abnormal"] == "high"
    assert v["oxygen saturation"].attributes["value"] == 89.0 and v["oxygen saturation"].attributes["oxygen"] == "2L NC"
    assert v["body weight"].attributes == {"value": 82.0, "unit": "kg"}
    assert v["body mass index"].attributes["abnormal"] == "high"


def test_vitals_room_air_and_celsius(extract):
    facts = extract("BP 120/80 mmHg, pulse 72, temp 37.1 C, SpO2 98% on RA.")
    v = {f.name: f for f in of_type(facts, "VITAL")}
    assert set(v) == {"blood pressure", "heart rate", "temperature", "oxygen saturation"}
    assert all("abnormal" not in f.attributes for f in v.values())
    assert v["oxygen saturation"].attributes["oxygen"] == "room air"
    assert v["blood pressure"].text == "BP 120/80 mmHg"
    assert of_type(facts, "PROBLEM") == []  # "RA" here is room air, not rheumatoid arthritis


def test_rr_riva_rocci_is_blood_pressure(extract):
    v = of_type(extract("RR 135/85 mmHg, HF 80/min."), "VITAL")
    assert [(f.name, f.attributes["value"]) for f in v] == [("blood pressure", 135.0), ("heart rate", 80.0)]
