"""Verifier checks that need the patient's whole record (the agent's tools), and the event dating they rely on:
each over hand-written notes in several independent wordings."""
from __future__ import annotations

import datetime as dt

import pytest

from clinqa.records import Patient


@pytest.mark.parametrize("notes,question,right,wrong", [
    ({"a": ("2023-05-02", "Clinic note\nHis last hemoglobin A1c was 6.7, which has been his average for about two "
                          "years.\nHe used to be on an insulin pump and had an A1c that at one point was 13.\n")},
     "What has his hemoglobin A1c averaged over the past two years?", "6.7", "13"),
    ({"a": ("2023-05-02", "Discharge summary\nBlood pressure on admission was 182/104 mmHg.\nAt discharge her blood "
                          "pressure was 128/76 mmHg after titration.\n")},
     "What was her blood pressure at discharge?", "128/76 mmHg", "182/104 mmHg"),
    ({"a": ("2023-05-02", "Clinic note\nWeight at the first visit in January: 92 kg.\nAfter six months of semaglutide "
                          "her weight is 85 kg, measured fasting this morning.\n")},
     "What was her fasting weight this morning?", "85 kg", "92 kg"),
])
def test_the_questions_own_words_pick_the_subjects_sentence(notes_qa, notes, question, right, wrong):
    """Two sentences give the subject a value; the one holding the question's qualifying words ("average", "at
    discharge", "fasting") answers it, and the other sentence's value is contradicted."""
    qa = notes_qa(Patient("q1", "Al Moss", "1958-03-03"), notes)
    opts = {"A": right, "B": wrong, "C": "100"}
    ans = qa.ask("q1", question, opts, allow_abstain=False)
    assert ans.option_checks["B"].startswith("failed binding"), ans.option_checks
    assert ans.option_checks["A"] == "verified", ans.option_checks


@pytest.mark.parametrize("listing,event,day", [
    ("Apixaban | 2.5 mg | PO | twice daily | secondary prevention; since 17.05.2024 (5 mg BID from 23.02.2024 to "
     "16.05.2024)", "first dose of apixaban 2.5 mg twice daily", dt.date(2024, 5, 17)),
    ("Metformin 1000 mg twice daily; empagliflozin 10 mg daily added 03.03.2023 (metformin 500 mg from 01.01.2022)",
     "empagliflozin 10 mg daily", dt.date(2023, 3, 3)),
    ("Bisoprolol 5 mg daily, 12.01.2022 (2.5 mg from 10.10.2021); torasemide 10 mg since 02.02.2022",
     "torasemide 10 mg", dt.date(2022, 2, 2)),
])
def test_an_event_is_dated_by_its_rarest_word(notes_qa, listing, event, day):
    """Of several dates in one line, the event's is the one nearest its most distinctive word (the drug), not one
    next to a dose unit it shares with the other dates."""
    other = ("Clinic note\nPantoprazole 40 mg daily.\nAtorvastatin 20 mg daily.\nVitamin D 1000 IU daily.\n"
             "Paracetamol 500 mg twice daily as needed.\nFolic acid 5 mg once weekly.\n")
    qa = notes_qa(Patient("q2", "Bo Lind", "1950-01-01"), {"o": ("2024-07-01", other),
                                                          "m": ("2024-08-01", "Medication list\n" + listing + "\n")})
    got = qa.tools.event_date("q2", event)
    assert got is not None and got[0] == day


@pytest.mark.parametrize("sentence,days", [
    ("He first noticed the calf swelling about a week ago.", 7),
    ("The cough started a month ago.", 30),
    ("Rash for the past two weeks.", 14),
])
def test_relative_onset_reads_a_and_an_as_one(sentence, days):
    from agent.tools import relative_onset

    note = dt.date(2023, 10, 29)
    assert relative_onset(sentence, note) == note - dt.timedelta(days=days)
