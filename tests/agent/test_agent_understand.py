"""Question analysis and the text normalisation the verifier relies on."""
from __future__ import annotations

import datetime as dt

import pytest

from agent.understand import QuestionAnalyzer, find_dates, find_numbers, validate_options
from clinqa.errors import InputError


@pytest.mark.parametrize("question,kind", [
    ("Which antibiotic was started on admission?", "lookup"),
    ("Which of these medications was NOT given to the patient?", "negation"),
    ("Which diagnosis was ruled out except pneumonia?", "negation"),
    ("In the ED, which symptom was not reported?", "negation"),
    ("Because the antibiotic was not tolerated, which medication was started instead?", "lookup"),
    ("Since metformin wasn't controlling her sugars, what was added?", "lookup"),
    ("How many days were there between the biopsy and the start of R-CHOP?", "interval"),
    ("How long after the transplant did the relapse occur?", "interval"),
    ("How many cycles of R-CHOP did she receive?", "count"),
    ("Which chemotherapy protocol was started first?", "order"),
    ("What was the most recent imaging?", "order"),
    ("How did the creatinine level change over the stay?", "trend"),
    ("Was the patient ever diagnosed with diabetes?", "yesno"),
    ("What was the date of the lymph node biopsy?", "lookup"),
])
def test_kinds(question, kind):
    assert QuestionAnalyzer().run(question).kind == kind


def test_interval_pair_and_temporal_flag():
    a = QuestionAnalyzer().run("How many days between the chest X-ray and the CT of the head?")
    assert a.pair == ("chest X-ray", "CT of the head") and a.temporal
    assert QuestionAnalyzer().run("When was amoxicillin started?").temporal


def test_abstain_option_is_recognised():
    a = QuestionAnalyzer().run("Which drug?", {"a": "Ramipril", "b": "Question cannot be answered"})
    assert a.options == {"A": "Ramipril", "B": "Question cannot be answered"}
    assert a.abstain_option == "B" and a.real_options == {"A": "Ramipril"}


@pytest.mark.parametrize("bad", [{"A": "x"}, {"A": "x", "B": " "}, {"1": "x", "2": "y"}, "A,B", {"A": "x", "a": "y"}])
def test_malformed_options(bad):
    with pytest.raises(InputError):
        validate_options(bad)


def test_numbers_with_units_are_normalised():
    nums = find_numbers("HbA1c 7.2 %, ceftriaxone 2g, fever 39,5 degrees Celsius for seven days, on 03/02/2021")
    assert (7.2, "%") in [(v, u) for v, u, _ in nums]
    assert (2.0, "g") in [(v, u) for v, u, _ in nums]
    assert (39.5, "°c") in [(v, u) for v, u, _ in nums]
    assert (7.0, "d") in [(v, u) for v, u, _ in nums]  # a spelled-out number keeps its unit too
    assert all(v not in (3.0, 2021.0) for v, _, _ in nums)  # date parts are not numbers
    weights = find_numbers("gains 3 pounds in 2 days; weight 180 lbs; lost ten pounds; 1 lb a week")
    assert sorted(v for v, u, _ in weights if u == "lb") == [1.0, 3.0, 10.0, 180.0]


def test_dates_in_several_formats_normalise_to_the_same_day():
    want = dt.date(2021, 3, 2)
    for s in ("2021-03-02", "03/02/2021", "02.03.2021", "March 2, 2021", "2nd March 2021"):
        assert [d for d, _ in find_dates(s)] == [want], s


def test_spelled_out_numbers_are_numbers_with_their_units():
    from agent.understand import find_numbers

    got = lambda t: [(v, u) for v, u, _ in find_numbers(t)]  # noqa: E731
    assert got("sixteen days") == [(16.0, "d")]
    assert got("twenty-one days after the first dose") == [(21.0, "d")]
    assert got("for thirty four weeks") == [(34.0, "wk")]
    assert got("one inhalation twice daily") == [(1.0, None), (2.0, None)]
    assert got("someone said nothing often") == []


def test_an_article_before_a_time_unit_counts_one_where_time_frames_it():
    """ "a year ago", "for about a week", "in a couple of weeks" are durations; "once a day", "two tablets a day",
    "every year" are rates or repeats, no number of their own."""
    from agent.understand import find_numbers

    got = lambda t: [(v, u) for v, u, _ in find_numbers(t)]  # noqa: E731
    assert got("About a year ago") == [(1.0, "y")]
    assert got("for about a week") == [(1.0, "wk")]
    assert got("follow up in a couple of weeks") == [(2.0, "wk")]
    assert got("a month later the rash came back") == [(1.0, "mo")]
    assert got("it started maybe a month or two after the norvasc") == [(1.0, "mo"), (2.0, None)]
    assert got("i check it once a week or two") == [(1.0, None), (2.0, None)]
    assert got("once a day") == [(1.0, None)]
    assert got("two tablets a day") == [(2.0, None)]
    assert got("a colonoscopy every year") == []


def test_a_unit_hyphenated_to_its_number_is_its_unit():
    """ "a 6-to-8-week course", "a 10-day supply", "a 5-mg tablet": the compound adjective keeps the unit; a range
    ("2-3 days") is two numbers."""
    from agent.understand import find_numbers

    got = lambda t: [(v, u) for v, u, _ in find_numbers(t)]  # noqa: E731
    assert got("a 6-to-8-week course") == [(6.0, None), (8.0, "wk")]
    assert got("a 10-day supply") == [(10.0, "d")]
    assert got("a 5-mg tablet") == [(5.0, "mg")]
    assert got("for 2-3 days") == [(2.0, None), (3.0, "d")]
    # in words as in digits: "a two-week course", "one eight-ounce cup", but "twenty-first" is no count
    assert got("a two-week course") == [(2.0, "wk")]
    assert got("a six-month follow-up") == [(6.0, "mo")]
    assert got("one eight-ounce cup a day") == [(1.0, None), (8.0, None)]
    assert got("twenty-one days") == [(21.0, "d")]
    assert got("in the twenty-first week") == []


def test_spoken_three_digit_numbers():
    """Hundreds said in words; a dictated blood pressure says its hundreds as one digit ("one fifty over seventy"),
    which elsewhere is two numbers ("take one fifty milligram tablet": one tablet of 50 mg)."""
    from agent.understand import find_numbers

    got = lambda t: [(v, u) for v, u, _ in find_numbers(t)]  # noqa: E731
    assert got("one hundred and ten over seventy") == [(110.0, None), (70.0, None)]
    assert got("a hundred twenty milligrams") == [(120.0, "mg")]
    assert got("two hundred") == [(200.0, None)]
    assert got("it was one fifty over seventy") == [(150.0, None), (70.0, None)]
    assert got("one thirty-two over eighty-four") == [(132.0, None), (84.0, None)]
    assert got("take one fifty milligram tablet") == [(1.0, None), (50.0, "mg")]
    assert got("one twenty five pounds") == [(1.0, None), (25.0, "lb")]  # pounds is a unit; still not 125


def test_a_comma_before_three_digits_groups_thousands():
    from agent.understand import find_numbers

    assert [(v, u) for v, u, _ in find_numbers("1,500 mg in total")] == [(1500.0, "mg")]
    assert [(v, u) for v, u, _ in find_numbers("fever 39,5 degrees")] == [(39.5, "°c")]


def test_units_an_si_prefix_apart_measure_one_quantity():
    from agent.understand import in_unit, same_quantity

    assert in_unit(0.07, "L", "mL") == pytest.approx(70.0)
    assert in_unit(1200, "mg", "g") == pytest.approx(1.2)
    assert in_unit(1.2, "mg/dL", "g/dL") == pytest.approx(0.0012)
    assert in_unit(5.0, "mmol/L", "mg/dL") == 5.0  # different quantities: unchanged
    assert same_quantity("g/g", "g/g") and same_quantity("L", "mL") and not same_quantity("mL/kg/h", "g/g")
    assert not same_quantity(None, "mg")


@pytest.mark.parametrize("text,values", [
    ("they have been running in the 300's", [300.0]),
    ("blood sugars have been in the 300 's.", [300.0]),
    ("The 200s", [200.0]),
    ("a man in his 80s", [80.0]),
    ("PT 12.0 s, INR 1.1", [12.0, 1.1]),  # a unit 's' after a space is no decade
])
def test_a_round_number_said_as_its_hundreds_or_decade_is_that_number(text, values):
    assert [v for v, _, _ in find_numbers(text)] == values


@pytest.mark.parametrize("spoken,written", [
    ("it was one fifty over seventy", "150/70"),
    ("you're on twenty milligrams of lisinopril", "20 mg"),
    ("we'll give you six hundred milligrams", "600 mg"),
    ("1,500 mg of iron in total", "1500 mg"),
])
def test_value_tokens_compare_numbers_however_they_are_written(spoken, written):
    """'one fifty over seventy' states 150/70 and 'twenty milligrams' 20 mg: by value, a number and its unit are the
    same tokens in either writing."""
    from agent.understand import content_tokens, value_token, value_tokens

    wanted = {value_token(t) for t in content_tokens(written)} - {None}
    assert wanted and wanted <= value_tokens(spoken)


@pytest.mark.parametrize("text", [
    "it's just one of the expected side effects",
    "the one on the left hurts more",
    "no one at home has a cough",
    "you can use one or the other inhaler",
    "once you are on that daily you can stop",
    "once the swelling goes down we can cast it",
])
def test_one_as_a_pronoun_is_no_number(text):
    """A spoken 'one' that stands for a thing ('one of the side effects', 'the one on the left'), or a 'once' that
    means 'when', counts nothing: read as 1, it 'stated' an answer of '1 puff'."""
    assert find_numbers(text) == []


@pytest.mark.parametrize("text,value", [
    ("take one tablet at night", 1.0),
    ("one puff twice a day", 1.0),
    ("about one week ago", 1.0),
    ("once daily in the morning", 1.0),
    ("she was seen once last year", 1.0),
])
def test_one_as_a_count_is_still_one(text, value):
    assert find_numbers(text)[0][0] == value


@pytest.mark.parametrize("text,value,unit", [
    ("the red blood cell count was four point two", 4.2, None),
    ("temperature thirty-seven point five degrees", 37.5, "°c"),
    ("creatinine is zero point eight today", 0.8, None),
    ("six hundred milligrams every six hours", 600.0, "mg"),
])
def test_spoken_decimals_and_hundreds_are_their_value(text, value, unit):
    assert (find_numbers(text)[0][0], find_numbers(text)[0][1]) == (value, unit)


@pytest.mark.parametrize("text,parts", [
    ("Tension-type headache", {"tension", "type"}),
    ("a follow-up visit", {"follow", "up"}),
    ("beta-blocker", {"beta", "blocker"}),
])
def test_a_hyphenated_word_has_its_parts(text, parts):
    from agent.understand import hyphen_parts, stem

    assert {stem(p) for p in parts} <= {x for _, v in hyphen_parts(text) for x in v}
