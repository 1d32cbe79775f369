"""A note's own date guessed from its opening lines is never the patient's birth date."""
import datetime as dt

import pytest

from graph_store.readers import _date_in_text


@pytest.mark.parametrize("text,expected", [
    ("Clinic letter\n\nJanuary 10, 2024\n\nRe: Mr. M, born 19.06.1957\n", dt.date(2024, 1, 10)),
    ("Re: Ms. K, born 02.03.1961\nLetter of 14.03.2024\n", dt.date(2024, 3, 14)),
    ("Patient: X   DOB: 06/19/1957   seen on 11/28/2023", dt.date(2023, 11, 28)),
    ("Name: Y, date of birth 1950-01-02; visit 2022-05-06", dt.date(2022, 5, 6)),
])
def test_birth_dates_are_not_note_dates(text, expected):
    assert _date_in_text(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("PROGRESS NOTE\nDate: 29-Feb-2024    Time: 09:30\nPatient: R. M., 66 y/o\n", dt.date(2024, 2, 29)),
    ("Outpatient Clinic\n\n16-May-2024\n\nDr. P. Hallmann\nGeneral Practitioner\n", dt.date(2024, 5, 16)),
    ("CUMULATIVE LABORATORY REPORT\nPrinted: 22-Aug-2024 10:14\nPatient: V., H. | DOB 03.11.1959\n29.10.2023  14.1",
     dt.date(2024, 8, 22)),
    ("Discharge summary, 3 Jan 2022\nAdmitted 28 Dec 2021\n", dt.date(2022, 1, 3)),
])
def test_day_month_year_with_a_month_name(text, expected):
    """'29-Feb-2024' and '3 Jan 2022' date a note; the lab rows and the birth date below do not."""
    assert _date_in_text(text) == expected
