import datetime as dt

from conftest import of_type, one

from clinqa.records import DateKind


def dates(facts):
    return [(f.text, f.attributes["value"], f.attributes["kind"]) for f in of_type(facts, "DATE")]


def test_absolute_formats(extract):
    facts = extract("Seen 2019-02-05, 02/05/2019, 05.02.2019, Feb 5, 2019, 5 February 2019, 01/2019 and in January 2019.")
    assert dates(facts) == [
        ("2019-02-05", "2019-02-05", "absolute"), ("02/05/2019", "2019-02-05", "absolute"),
        ("05.02.2019", "2019-02-05", "absolute"), ("Feb 5, 2019", "2019-02-05", "absolute"),
        ("5 February 2019", "2019-02-05", "absolute"), ("01/2019", "2019-01-01", "absolute"),
        ("January 2019", "2019-01-01", "absolute"),
    ]
    prec = [f.attributes["precision"] for f in of_type(facts, "DATE")]
    assert prec == ["day"] * 5 + ["month", "month"]


def test_not_dates(extract):
    facts = extract("BP 120/80, dose 1.5 mg, ratio 3/4, version 2.0.1, room 12.")
    assert of_type(facts, "DATE") == []


def test_relative_to_note_date(extract):
    facts = extract("Yesterday she had a fever. Cough 3 days ago. Last week she was fine. Two weeks ago: rash.",
                    note_date=dt.date(2024, 5, 10))
    assert dates(facts) == [("Yesterday", "2024-05-09", "relative"), ("3 days ago", "2024-05-07", "relative"),
                            ("Last week", "2024-05-03", "relative"), ("Two weeks ago", "2024-04-26", "relative")]
    fever = one(facts, "PROBLEM", "fever")
    assert fever.date == dt.date(2024, 5, 9) and fever.date_kind == DateKind.OCCURRED and fever.date_text == "Yesterday"
    assert one(facts, "PROBLEM", "cough").date == dt.date(2024, 5, 7)


def test_anchored_relative_dates(extract):
    text = ("Admitted on 2019-02-05 with pneumonia. Three days after admission CT chest showed an effusion. "
            "On day 5 she was intubated. Underwent surgery on 02/10/2019. POD 2 fever. Two weeks later discharged.")
    facts = extract(text, note_date=dt.date(2019, 3, 1))
    got = dict((t, v) for t, v, _ in dates(facts))
    assert got["2019-02-05"] == "2019-02-05"
    assert got["Three days after admission"] == "2019-02-08"
    assert got["On day 5"] == "2019-02-09"  # hospital day 1 = admission day
    assert got["POD 2"] == "2019-02-12"
    assert got["Two weeks later"] == "2019-02-26"
    assert one(facts, "PROCEDURE", "computed tomography").date == dt.date(2019, 2, 8)
    assert one(facts, "PROBLEM", "pneumonia").date == dt.date(2019, 2, 5)


def test_durations(extract):
    facts = extract("Amoxicillin for 7 days. Prednisone x 5 days. Cough over the past 3 weeks.")
    durs = [(f.text, f.attributes["duration"], f.attributes["value"]) for f in of_type(facts, "DATE")]
    assert durs == [("for 7 days", "P7D", None), ("x 5 days", "P5D", None), ("over the past 3 weeks", "P3W", None)]
    # a duration does not date the concept
    assert one(facts, "DRUG", "amoxicillin").date_kind == DateKind.DOCUMENTED


def test_concept_dates_documented_and_unknown(extract):
    f = one(extract("Hypertension, stable."), "PROBLEM", "hypertension")
    assert f.date == dt.date(2024, 5, 1) and f.date_kind == DateKind.DOCUMENTED and f.date_text is None
    facts = extract("Hypertension. Fever yesterday.", note_date=dt.date(2024, 5, 1), date_known=False)
    h, fev = one(facts, "PROBLEM", "hypertension"), one(facts, "PROBLEM", "fever")
    assert h.date is None and h.date_kind == DateKind.UNKNOWN
    assert fev.date is None and fev.date_kind == DateKind.UNKNOWN  # relative to an unknown note date
    assert one(facts, "DATE", "yesterday").attributes["anchor"] == "note_date_unknown"


def test_date_attaches_within_clause(extract):
    facts = extract("Pt c/o SOB, s/p CABG in 2015.")
    assert one(facts, "PROCEDURE", "coronary artery bypass graft").date == dt.date(2015, 1, 1)
    assert one(facts, "PROBLEM", "shortness of breath").date_kind == DateKind.DOCUMENTED


def test_a_month_written_with_of_is_a_month_date(extract):
    """Spoken and written English both say "April of 2022"; "in March, 2024" and "Oct. 2023" too."""
    facts = extract("Mammogram due in april of 2022. Started in March, 2024. Seen Oct. 2023.")
    assert [(t, v) for t, v, _ in dates(facts)] == [("april of 2022", "2022-04-01"), ("March, 2024", "2024-03-01"),
                                                    ("Oct. 2023", "2023-10-01")]
    assert {f.attributes["precision"] for f in of_type(facts, "DATE")} == {"month"}


def test_month_day_without_year_uses_note_year(extract):
    facts = extract("Colonoscopy on March 3 showed polyps.", note_date=dt.date(2024, 5, 1))
    assert one(facts, "PROCEDURE", "colonoscopy").date == dt.date(2024, 3, 3)
    facts = extract("Seen on Dec 20.", note_date=dt.date(2024, 1, 5))
    assert dates(facts) == [("Dec 20", "2023-12-20", "absolute")]


def test_birth_date_does_not_date_concepts(extract):
    facts = extract("Patient: John Doe, DOB 08/22/1979, hypertension. Admitted on 2019-02-05 with pneumonia.")
    dob = [f for f in of_type(facts, "DATE") if f.attributes.get("role") == "birth_date"]
    assert [f.text for f in dob] == ["08/22/1979"]
    assert one(facts, "PROBLEM", "hypertension").date_kind == DateKind.DOCUMENTED
    assert one(facts, "PROBLEM", "pneumonia").date == dt.date(2019, 2, 5)


def test_day_month_year_with_hyphens(extract):
    facts = extract("Sample drawn 19-May-2023. Repeat on 04-OCT-2023 and 1-Jan-2024.")
    assert [(t, v) for t, v, _ in dates(facts)] == [("19-May-2023", "2023-05-19"), ("04-OCT-2023", "2023-10-04"),
                                                    ("1-Jan-2024", "2024-01-01")]


def test_a_range_that_names_its_year_once_dates_its_first_day(extract):
    """Discharge summaries write stays as ranges; the first date takes the year (and month) written at the end."""
    cases = [
        ("Inpatient 19.05.-24.05.2023 for pneumonia.", ("19.05.", "2023-05-19")),
        ("From 19.05. to 24.05.2023 she was treated as an inpatient.", ("19.05.", "2023-05-19")),
        ("Admitted 3-4 March 2024 for observation.", ("3", "2024-03-03")),
        ("Admitted 3 to 8 March 2024 for observation.", ("3", "2024-03-03")),
        ("Stay March 3-8, 2024 on the ward.", ("March 3", "2024-03-03")),
        ("Seen 12/3 - 12/8/2023 in clinic.", ("12/3", "2023-12-03")),
        ("Inpatient 28.12.-03.01.2024 over New Year.", ("28.12.", "2023-12-28")),
        ("Hospitalized 27 February to 6 March 2024.", ("27 February", "2024-02-27")),
        ("Rehabilitation from 30 January - 2 February 2024.", ("30 January", "2024-01-30")),
        ("Ward stay February 27 to March 6, 2024.", ("February 27", "2024-02-27")),
    ]
    for text, first in cases:
        got = [(t, v) for t, v, _ in dates(extract(text))]
        assert got[0] == first, (text, got)
    end = [f for f in of_type(extract("Inpatient 19.05.-24.05.2023."), "DATE")]
    assert [f.attributes["value"] for f in end] == ["2023-05-19", "2023-05-24"]


def test_numbers_before_a_date_are_no_range(extract):
    for text in ("Hb 9.5 - 12 May 2023.", "Days 30-4 March 2024 were missed.", "Score 3.4 to 5 March 2024."):
        firsts = [t for t, _, _ in dates(extract(text))]
        assert firsts and not any(t in ("5", "30", "4") for t in firsts[:-1]), (text, firsts)


def test_a_stay_written_as_a_range_gives_admission_and_discharge(extract):
    for text in ("He was treated as an inpatient in our department from 27.02.2024 to 06.03.2024.",
                 "Hospitalized 27 February to 6 March 2024 for an exacerbation.",
                 "Inpatient stay 27.02.-06.03.2024 (pneumology)."):
        roles = [(f.attributes["value"], f.attributes.get("role")) for f in of_type(extract(text), "DATE")]
        assert roles == [("2024-02-27", "admission"), ("2024-03-06", "discharge")], (text, roles)
    plain = [f.attributes.get("role") for f in of_type(extract("Prednisone from 27.02.2024 to 06.03.2024."), "DATE")]
    assert plain == [None, None]
