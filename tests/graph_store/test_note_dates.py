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
