"""The synthetic LongHealth-style generator, the shipped dev set and the bundled sample patients (fast)."""
from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path

import pytest

from evals.synth import (FREQUENCY_ABBREVIATIONS, HELD_OUT_WORDINGS, KINDS, MONTHS, NUM_WORDS, PHRASE_ABBREVIATIONS,
                         QUESTION_WORDINGS, TUNING_WORDINGS, UNIT_WORDS, generate, main, option_formats)
from graph_store.readers import ReadItem, ReadProblem, read_path, read_text_note

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT / "evals" / "data" / "dev.json"
DEV_WORDINGS = ROOT / "evals" / "data" / "dev_wordings.json"
SAMPLES = ROOT / "clinqa" / "samples"
LETTERS = "abcde"


@pytest.fixture(scope="module")
def dev() -> dict:
    return generate(10, 1)


def _options(q: dict) -> list[str]:
    return [q[f"answer_{x}"] for x in LETTERS]


def _check_question(p: dict, q: dict) -> None:
    opts = _options(q)
    assert all(isinstance(o, str) and o.strip() for o in opts), q
    assert len({o.strip().lower() for o in opts}) == 5, opts
    assert q["correct"] in opts
    spans = q["answer_spans"]
    assert spans, q["question"]
    for sp in spans:
        text = p["texts"][sp["text"]]
        s, e = sp["start"], sp["end"]
        assert 0 <= s < e <= len(text)
        assert text[s:e].strip() == text[s:e]  # a whole sentence / row, no surrounding blanks
        assert text[s:e]
    # LongHealth-style fractions hold the same spans
    loc = q["answer_location"]
    assert set(loc) == {sp["text"] for sp in spans}
    for key, ent in loc.items():
        n = len(p["texts"][key])
        mine = [sp for sp in spans if sp["text"] == key]
        assert len(ent["start"]) == len(ent["end"]) == len(mine)
        for sp, a, b in zip(mine, ent["start"], ent["end"]):
            assert abs(a * n - sp["start"]) <= 1 and abs(b * n - sp["end"]) <= 1
            assert 0 <= a < b <= 1


# -- generator -----------------------------------------------------------------------------------------------
def test_deterministic_by_seed():
    a, b = generate(3, 7), generate(3, 7)
    assert a == b
    assert json.dumps(a) == json.dumps(b)
    c = generate(3, 8)
    assert a != c
    assert [p["texts"]["text_0"] for p in a.values()] != [p["texts"]["text_0"] for p in c.values()]


def test_patient_shape_sizes_and_notes(dev):
    assert list(dev) == [f"patient_{i:02d}" for i in range(1, 11)]
    for pid, p in dev.items():
        assert p["name"] and p["birthday"] and p["diagnosis"]
        keys = list(p["texts"])
        assert 5 <= len(keys) <= 15, (pid, len(keys))
        assert keys == [f"text_{i}" for i in range(len(keys))]
        words = sum(len(t.split()) for t in p["texts"].values())
        assert 3000 <= words <= 7000, (pid, words)
        assert set(p["text_dates"]) == set(keys) == set(p["text_types"])
        dates = [dt.date.fromisoformat(p["text_dates"][k]) for k in keys]
        assert dates == sorted(dates)
        assert all(p["text_types"][k] for k in keys)
        assert 8 <= len(p["questions"]) <= 12, (pid, len(p["questions"]))
        assert [q["No"] for q in p["questions"]] == list(range(1, len(p["questions"]) + 1))


def test_questions_options_and_spans(dev):
    for p in dev.values():
        for q in p["questions"]:
            assert q["kind"] in KINDS
            _check_question(p, q)


def test_correct_letter_is_shuffled(dev):
    letters = {x for p in dev.values() for q in p["questions"] for x in LETTERS if q[f"answer_{x}"] == q["correct"]}
    assert letters == set(LETTERS)


def test_every_kind_present(dev):
    kinds = {q["kind"] for p in dev.values() for q in p["questions"]}
    assert kinds == set(KINDS)
    for p in dev.values():  # and every patient gets a mix
        assert len({q["kind"] for q in p["questions"]}) >= 4


def test_ground_truth_matches_the_questions(dev):
    for p in dev.values():
        gt = p["ground_truth"]
        ae = gt["adverse_event"]
        onset, start = dt.date.fromisoformat(ae["onset"]), dt.date.fromisoformat(ae["drug_start"])
        assert (onset - start).days == ae["days_after_start"] > 0
        assert any(m["name"] == ae["drug"] and m["stop"] for m in gt["medications"])
        assert gt["family_history"] and gt["negated_findings"] and gt["labs"] and gt["procedures"] and gt["imaging"]
        for q in p["questions"]:
            if q["template"] == "ae_interval":
                assert q["correct"] == f"{ae['days_after_start']} days"
            if q["template"] == "not_given":
                everything = " ".join(p["texts"].values()).lower()
                assert q["correct"].lower() not in everything
            if q["template"] == "lab_value":
                assert q["correct"].split()[0] in "".join(p["texts"][s["text"]][s["start"]:s["end"]] for s in q["answer_spans"])
        # negated findings appear in the text in their negated form
        for n in gt["negated_findings"]:
            assert n["sentence"] in " ".join(p["texts"].values())


def test_interval_evidence_in_the_text(dev):
    for p in dev.values():
        ae = p["ground_truth"]["adverse_event"]
        for q in p["questions"]:
            if q["template"] == "ae_interval":
                ev = [p["texts"][s["text"]][s["start"]:s["end"]] for s in q["answer_spans"]]
                assert ae["drug"] in ev[0].lower() and "started" in ev[0]


def test_shipped_dev_set_equals_generator(dev):
    assert DEV.is_file(), "regenerate: python -m evals.synth --patients 10 --seed 1 --out evals/data/dev.json"
    assert json.loads(DEV.read_text()) == dev


def test_dev_set_loads_with_readers_and_harness():
    from evals.harness import gold_spans, load_set

    items = list(read_path(DEV))
    problems = [str(x) for x in items if isinstance(x, ReadProblem)]
    assert not problems, problems[:3]
    assert len([x for x in items if isinstance(x, ReadItem)]) == 10
    es = load_set(DEV)
    raw = json.loads(DEV.read_text())
    assert es.n_questions == sum(len(p["questions"]) for p in raw.values())
    for pid, ep in es.patients.items():
        assert all(n.date_known for n in ep.notes)
        by_key = {n.source_key: n for n in ep.notes}
        for q in ep.questions:
            assert q.correct_letter is not None and q.kind in KINDS
            for key, s, e in gold_spans(q, by_key):
                assert by_key[key].text[s:e].strip()


def test_fast_and_cli(tmp_path):
    t = time.perf_counter()
    data = generate(50, 11)
    assert time.perf_counter() - t < 10
    assert len(data) == 50
    out = tmp_path / "s.json"
    assert main(["--patients", "2", "--seed", "3", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == generate(2, 3)
    assert main(["--patients", "2", "--seed", "3", "--out", str(out), "--wordings"]) == 0
    assert json.loads(out.read_text()) == generate(2, 3, wordings=True)
    assert list(generate(100, 0))[:2] == ["patient_001", "patient_002"]


# -- varied wordings (tune on 1-3, measure on the held-back 4-5) ------------------------------------------------
@pytest.fixture(scope="module")
def varied() -> dict:
    return generate(10, 1, wordings=True)


def _tokens(template: str) -> list[str]:
    """Words of a wording template, each slot one token ('<drug>')."""
    return re.findall(r"<\w+>|[a-z0-9'-]+", re.sub(r"\{(\w+)\}", r" <\1> ", template.lower()))


def _trigrams(template: str) -> set[tuple[str, ...]]:
    w = _tokens(template)
    return {tuple(w[i:i + 3]) for i in range(len(w) - 2)}


def test_every_template_has_five_distinct_wordings(dev):
    made = {q["template"] for p in dev.values() for q in p["questions"]}
    assert made <= set(QUESTION_WORDINGS)
    assert len(made) >= 18  # the dev set draws (nearly) every template
    for template, ws in QUESTION_WORDINGS.items():
        assert len(ws) == 5 and len({_tokens(w) and " ".join(_tokens(w)) for w in ws}) == 5, template
        option_formats(template)  # every template has an option formatter
    assert TUNING_WORDINGS == (1, 2, 3) and HELD_OUT_WORDINGS == (4, 5)


def test_held_back_wordings_differ_in_structure():
    """Wordings 4-5 are a fair held-back test only if they are not 1-3 with synonyms swapped. Checked per template:
    (a) no word 3-gram (slots counted as words) of 4 or 5 occurs in 1-3; (b) 4 and 5 open with a word none of 1-3
    opens with; (c) 1-3 are questions ending in '?', while at least one of 4-5 is a fill-in stem or an instruction."""
    for template, ws in QUESTION_WORDINGS.items():
        tuning, held = [ws[i - 1] for i in TUNING_WORDINGS], [ws[i - 1] for i in HELD_OUT_WORDINGS]
        seen = set().union(*(_trigrams(w) for w in tuning))
        openers = {_tokens(w)[0] for w in tuning}
        for w in held:
            assert not _trigrams(w) & seen, (template, w, _trigrams(w) & seen)
            assert _tokens(w)[0] not in openers, (template, w)
        assert all(w.endswith("?") for w in tuning), template
        assert any(not w.endswith("?") for w in held), template


def test_dev_set_keeps_the_first_wording(dev):
    """Without wordings=True the generator writes wording 1 and canonical options (what dev.json holds)."""
    for p in dev.values():
        for q in p["questions"]:
            assert "wording" not in q and "option_format" not in q
            assert re.fullmatch(_wording_regex(QUESTION_WORDINGS[q["template"]][0]), q["question"]), q["question"]


def _wording_regex(template: str) -> str:
    parts = re.split(r"\{\w+\}", template)
    return "(?i)" + ".+?".join(re.escape(x) for x in parts)


def _letter(q: dict) -> str:
    return next(x for x in LETTERS if q[f"answer_{x}"] == q["correct"])


def test_varied_set_asks_the_same_questions_with_the_same_answers_and_evidence(dev, varied):
    assert list(varied) == list(dev)
    for pid, p in varied.items():
        base = dev[pid]
        assert {k: v for k, v in p.items() if k != "questions"} == {k: v for k, v in base.items() if k != "questions"}
        assert len(p["questions"]) == len(base["questions"])
        for q, b in zip(p["questions"], base["questions"]):
            _check_question(p, q)
            for field in ("No", "kind", "template", "answer_spans", "answer_location"):
                assert q[field] == b[field]
            assert _letter(q) == _letter(b)  # same gold letter
            assert q["wording"] in TUNING_WORDINGS + HELD_OUT_WORDINGS
            assert q["option_format"] in option_formats(q["template"])
            wording = QUESTION_WORDINGS[q["template"]][q["wording"] - 1]
            assert re.fullmatch(_wording_regex(wording), q["question"]), (wording, q["question"])


def test_varied_set_mixes_wordings_and_option_formats(varied):
    qs = [q for p in varied.values() for q in p["questions"]]
    assert {q["wording"] for q in qs} == {1, 2, 3, 4, 5}
    held = sum(q["wording"] in HELD_OUT_WORDINGS for q in qs)
    assert 0.25 * len(qs) <= held <= 0.55 * len(qs)  # both groups large enough to report an accuracy
    assert len({q["option_format"] for q in qs}) >= 15
    assert sum(q["option_format"] in option_formats(q["template"])[1:] for q in qs) >= 0.5 * len(qs)
    formats = {q["question"][-1] for q in qs if q["wording"] in HELD_OUT_WORDINGS}
    assert {"?", ":", "."} <= formats


def test_gold_answer_still_located_at_its_spans(dev, varied):
    """The option at the gold letter names the value that the evidence sentence states (checked on the templates whose
    evidence repeats the answer verbatim) - in the canonical option and, in the varied set, in its rewritten form."""
    verbatim = {"dose", "lab_value", "drug_for", "family_history", "replacement", "ae_drug_indication", "denied"}
    checked = 0
    for pid, p in varied.items():
        for q, b in zip(p["questions"], dev[pid]["questions"]):
            if q["template"] not in verbatim:
                continue
            evidence = " ".join(" ".join(p["texts"][s["text"]][s["start"]:s["end"]].split()) for s in q["answer_spans"])
            gold = b[f"answer_{_letter(q)}"]
            assert gold.lower() in evidence.lower(), (gold, evidence)  # lab tables: the value and unit in one row
            assert _numbers(gold) <= _numbers(q["correct"]) and _names(gold) <= _names(_expand(q["correct"]))
            checked += 1
    assert checked >= 30


_DATE_RES = [(r"\d{4}-\d{2}-\d{2}", "%Y-%m-%d"), (r"\d{2}/\d{2}/\d{4}", "%m/%d/%Y"),
             (r"\d{1,2} (?:%s) \d{4}" % "|".join(MONTHS), "%d %B %Y"), (r"(?:%s) \d{1,2}, \d{4}" % "|".join(MONTHS), "%B %d, %Y"),
             (r"(?:%s) \d{1,2}, \d{4}" % "|".join(m[:3] for m in MONTHS), "%b %d, %Y")]


def _dates(text: str) -> tuple[set[dt.date], str]:
    out = set()
    for pat, fmt in _DATE_RES:
        for m in re.finditer(pat, text):
            out.add(dt.datetime.strptime(m.group(0), fmt).date())
        text = re.sub(pat, " ", text)
    return out, text


_UNITS = NUM_WORDS[:10]
_TEENS = NUM_WORDS[10:] + ["thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _numbers(text: str) -> set[str]:
    """The numbers an option states, written in digits or in words ('twenty-one'), dates left out."""
    text = _dates(text)[1].lower()
    text = re.sub(r"\b(%s)(?:-(%s))?\b" % ("|".join(_TENS), "|".join(_UNITS[1:])),
                  lambda m: str(20 + 10 * _TENS.index(m.group(1)) + (_UNITS.index(m.group(2)) if m.group(2) else 0)), text)
    for i, w in enumerate(_TEENS):
        text = re.sub(rf"\b{w}\b", str(10 + i), text)
    for i, w in enumerate(_UNITS):
        text = re.sub(rf"\b{w}\b", str(i), text)
    return set(re.findall(r"\d+(?:\.\d+)?", text))


def _expand(text: str) -> str:
    """Option text with the generator's abbreviations and spelled-out units mapped back to the canonical words."""
    for long, short in list(PHRASE_ABBREVIATIONS.items()) + FREQUENCY_ABBREVIATIONS:
        text = re.sub(rf"(?<!\w){re.escape(short)}(?!\w)", long, text)
    for pat, word in UNIT_WORDS:
        text = text.replace(word, pat.replace(r"(?<![\w/])", "").replace(r"\b", ""))
    return text


def _units(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w/])(mcg|mg|g|mL|kg|units|%)(?![\w])", text))


_FORM_WORDS = {"increased", "decreased", "reduced", "remained", "stable", "about", "unchanged", "stopped", "after",
               "starting", "then", "start", "onset", "dose", "change", "days", "from"}


def _names(text: str) -> set[str]:
    """Content words (drugs, findings, exams) of an option, without the words that only carry its form."""
    return {w for w in re.findall(r"[a-z][a-z'-]{3,}", _dates(text)[1].lower()) if w not in _FORM_WORDS}


@pytest.fixture(scope="module")
def wide() -> tuple[dict, dict]:
    """60 patients of another seed: enough for every template to be drawn in every option format."""
    return generate(60, 5), generate(60, 5, wordings=True)


def test_option_formats_keep_the_meaning(wide):
    """Each rewritten option names the same values as its canonical form: numbers, dates, drug / finding / exam names,
    the direction of a change and the order of events. Every (template, option format) pair is checked."""
    plain, varied = wide
    drawn = {(q["template"], q["option_format"]) for p in varied.values() for q in p["questions"]}
    assert drawn == {(t, f) for t in QUESTION_WORDINGS for f in option_formats(t)}
    for pid, p in varied.items():
        for q, b in zip(p["questions"], plain[pid]["questions"]):
            for x in LETTERS:
                new, old = q[f"answer_{x}"], b[f"answer_{x}"]
                assert _numbers(old) <= _numbers(_expand(new)), (old, new)
                # same dates; an option may restate the question's date ('5.3 /nL on Jul 23, 2022'), no other
                assert _dates(old)[0] <= _dates(new)[0] <= _dates(old)[0] | _dates(q["question"])[0], (old, new)
                # events get other verbs; 'value_only' leaves the lab unit to the question
                if q["template"] not in ("first_event", "last_event", "order") and q["option_format"] != "value_only":
                    assert _names(old) <= _names(_expand(new)), (old, new)
                    assert _units(old) <= _units(_expand(new)), (old, new)
                if q["option_format"] in ("with_frequency_abbreviated", "drug_dose_frequency"):  # the drug's own frequency
                    freq = next(m["freq"] for m in p["ground_truth"]["medications"] if m["name"] in q["question"].lower())
                    short = freq
                    for long, abbr in sorted(FREQUENCY_ABBREVIATIONS, key=lambda x: -len(x[0])):
                        short = short.replace(long, abbr)
                    assert new.endswith(f" {freq}") or new.endswith(f" {short}"), (new, freq)
                if q["template"] in ("lab_trend", "dose_path"):
                    vals = re.findall(r"(?<![\w/.])\d+(?:\.\d+)?", old)  # values, not the 2 of mg/m2
                    if len(vals) == 2:  # the values stay in their order, the direction stays
                        assert new.index(vals[0]) < new.rindex(vals[1]), (old, new)
                    rise = old.startswith("Increased")
                    assert not re.search(r"\b(fell|down|reduced|decreased)\b" if rise else r"\b(rose|up|increased)\b",
                                         new, re.I), (old, new)
                if q["template"] == "order":
                    heads = [re.sub(r"^the (start of |onset of |dose change of )?", "", e.lower())
                             for e in old.split(", then ")]
                    at = -1
                    for h in heads:  # each event named after the one before it
                        at = new.lower().find(h, at + 1)
                        assert at >= 0, (old, new)


def test_wordings_deterministic_by_seed():
    a, b = generate(3, 7, wordings=True), generate(3, 7, wordings=True)
    assert a == b
    drawn = lambda d: [(q["wording"], q["option_format"]) for p in d.values() for q in p["questions"]]  # noqa: E731
    assert drawn(a) != drawn(generate(3, 8, wordings=True))
    plain = generate(3, 7)
    assert [[q["answer_spans"] for q in p["questions"]] for p in a.values()] == \
        [[q["answer_spans"] for q in p["questions"]] for p in plain.values()]


def test_shipped_wordings_set_equals_generator(varied):
    assert DEV_WORDINGS.is_file(), "regenerate: python -m evals.synth --patients 10 --seed 1 --wordings " \
                                   "--out evals/data/dev_wordings.json"
    assert json.loads(DEV_WORDINGS.read_text()) == varied


def test_report_splits_accuracy_by_wording_group(varied, tmp_path):
    """The harness records each question's wording; the report adds accuracy per wording group only for such sets."""
    from evals.harness import _record, build_tasks, load_set
    from evals.report import compute_metrics, markdown

    path = tmp_path / "v.json"
    path.write_text(json.dumps({k: varied[k] for k in list(varied)[:2]}))
    _, items = build_tasks(load_set(path), [1, 2], n_distractors=1)
    recs = [_record(it, None, "not asked", 0.1, {}) for it in items]
    assert all(r["wording"] in (1, 2, 3, 4, 5) for r in recs)
    for r in recs:
        r["correct"] = r["wording"] in TUNING_WORDINGS  # right on 1-3, wrong on 4-5
    m = compute_metrics(recs)
    n_tune = sum(r["wording"] in TUNING_WORDINGS for r in recs if r["task"] == 1)
    assert m["by_wording"]["task1/wordings 1-3"] == {"n": n_tune, "accuracy": 1.0}
    assert m["by_wording"]["task1/wordings 4-5"]["accuracy"] == 0.0
    assert set(m["by_wording"]) == {f"task{t}/wordings {g}" for t in (1, 2) for g in ("1-3", "4-5")}
    assert "| task1/wordings 4-5 |" in markdown({**m, "config": {}})
    for r in recs:
        del r["wording"]
    plain = compute_metrics(recs)
    assert "by_wording" not in plain and "wordings" not in markdown({**plain, "config": {}})


# -- bundled samples ----------------------------------------------------------------------------------------------
def test_sample_patients_load_and_spans_point_into_notes():
    path = SAMPLES / "sample_patients.json"
    items = list(read_path(path))
    assert not [str(x) for x in items if isinstance(x, ReadProblem)]
    raw = json.loads(path.read_text())
    assert 2 <= len(raw) <= 3
    for pid, p in raw.items():
        assert 3 <= len(p["texts"]) <= 6
        assert set(p["text_dates"]) == set(p["texts"]) == set(p["text_types"])
        assert 4 <= len(p["questions"]) <= 6
        for q in p["questions"]:
            assert q["kind"] in KINDS
            _check_question(p, q)
            for sp in q["answer_spans"]:
                sent = p["texts"][sp["text"]][sp["start"]:sp["end"]]
                assert re.search(r"[.)]$", sent), sent  # whole sentences
    from evals.harness import load_set

    es = load_set(path)
    assert all(q.correct_letter for ep in es.patients.values() for q in ep.questions)


def test_injection_note_front_matter_and_harmless():
    path = SAMPLES / "injection_note.md"
    note = read_text_note(path, "patient_01")
    assert note.date_known and note.note_date == dt.date(2023, 3, 27)
    assert note.note_type == "progress note"
    assert "Ignore all previous instructions" in note.text and "SYSTEM:" in note.text
    first = json.loads((SAMPLES / "sample_patients.json").read_text())["patient_01"]
    assert first["name"] in note.text
    low = note.text.lower()
    for q in first["questions"]:
        for o in _options(q):
            assert o.lower() not in low, o  # mentions no option, so it cannot support or refute one
    assert (SAMPLES / "README.md").is_file()
