"""extractors.lab_tables: a lab table's cells are results dated by their row or column, with the column's unit."""
from __future__ import annotations

import datetime as dt

from conftest import of_type


def _labs(facts, name):
    return [(f.date, f.attributes["value"], f.attributes.get("unit"), f.attributes.get("abnormal"))
            for f in of_type(facts, "LAB") if f.name == name]


def test_rows_by_date_with_pipes_units_and_reference_row(extract):
    text = ("Laboratory course\n"
            "Date        | Na    | K       | Creat     | Hb\n"
            "Unit        | mmol/L| mmol/L  | mg/dL     | g/dL\n"
            "Reference   | 135-145 | 3.5-5.1 | 0.7-1.2 | 13.5-17.5\n"
            "03-Jan-2024 | 131 L | 5.8 H   | 2.10 H    | 11.9 L\n"
            "05-Jan-2024 | 136   | --      | 1.64 H    | 12.4 L\n\n"
            "Creatinine improved with fluids.\n")
    facts = extract(text)
    assert _labs(facts, "creatinine") == [(dt.date(2024, 1, 3), 2.1, "mg/dL", "high"),
                                          (dt.date(2024, 1, 5), 1.64, "mg/dL", "high")]
    assert _labs(facts, "potassium") == [(dt.date(2024, 1, 3), 5.8, "mmol/L", "high")]  # "--": not measured
    assert [v for _, v, _, _ in _labs(facts, "sodium")] == [131.0, 136.0]
    # the reference row is no result, and each fact's span is its own cell
    assert all(f.text.split()[0] in {"131", "136", "5.8", "2.10", "1.64", "11.9", "12.4"} for f in of_type(facts, "LAB"))


def test_rows_by_date_aligned_by_spaces_with_a_unit_row_under_the_header(extract):
    text = ("Date         Hb     Ferritin  Plt\n"
            "             g/dL   ng/mL     x10^9/L\n"
            "12.03.2023   8.1    --        412\n"
            "30.04.2023   10.7   36        298\n")
    facts = extract(text, note_date=dt.date(2023, 6, 1))
    assert _labs(facts, "hemoglobin") == [(dt.date(2023, 3, 12), 8.1, "g/dL", None),
                                          (dt.date(2023, 4, 30), 10.7, "g/dL", None)]
    assert _labs(facts, "ferritin") == [(dt.date(2023, 4, 30), 36.0, "ng/mL", None)]
    assert [f.date_text for f in of_type(facts, "LAB")][:1] == ["12.03.2023"]


def test_tests_as_rows_dates_as_columns_with_the_unit_in_the_name(extract):
    text = ("Trend of liver values:\n"
            "Parameter            2022-11-02  2023-02-14  2023-05-30\n"
            "Bilirubin (mg/dL)    3.1         2.2         1.4\n"
            "Albumin (g/dL)       2.9         --          3.4\n"
            "INR                  1.8         1.5         1.3\n")
    facts = extract(text)
    assert _labs(facts, "total bilirubin") == [(dt.date(2022, 11, 2), 3.1, "mg/dL", None),
                                               (dt.date(2023, 2, 14), 2.2, "mg/dL", None),
                                               (dt.date(2023, 5, 30), 1.4, "mg/dL", None)]
    assert [(d, v) for d, v, _, _ in _labs(facts, "albumin")] == [(dt.date(2022, 11, 2), 2.9), (dt.date(2023, 5, 30), 3.4)]
    assert [v for _, v, _, _ in _labs(facts, "international normalized ratio")] == [1.8, 1.5, 1.3]


def test_grids_that_name_no_lab_test_are_not_read_as_tables(extract):
    text = ("Capillary glucose profile\n"
            "Date          06:30   11:30   17:00\n"
            "27-Feb-2024   131     264     348\n\n"
            "Medication    Dose     Frequency\n"
            "Metformin     500 mg   twice daily\n\n"
            "Hb 9.4 g/dL on 01.03.2024.\n")
    facts = extract(text)
    labs = of_type(facts, "LAB")
    assert [(f.name, f.attributes["value"]) for f in labs] == [("hemoglobin", 9.4)]
    assert "metformin" in [f.name for f in of_type(facts, "DRUG")]


def test_the_note_date_does_not_date_a_table_cell_and_prose_after_the_table_is_read_as_before(extract):
    text = ("Date        | CRP    | WBC\n"
            "01-Aug-2023 | 182 H  | 15.2 H\n"
            "09-Aug-2023 | 24 H   | 8.1\n"
            "On discharge CRP 12 mg/L.\n")
    facts = extract(text, note_date=dt.date(2023, 8, 10))
    crp = _labs(facts, "c-reactive protein")
    assert [(d, v) for d, v, _, _ in crp] == [(dt.date(2023, 8, 1), 182.0), (dt.date(2023, 8, 9), 24.0),
                                              (dt.date(2023, 8, 10), 12.0)]
