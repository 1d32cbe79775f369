"""evals.negex: NegEx/ConText test-kit scoring of extractors.assertion."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals import negex

DEV = Path(__file__).resolve().parents[2].parent / "shared/data/negex/dev.tsv"

# columns deliberately not in the test kit's order; concept upper-cased in the sentence as the kit does
TINY = [
    ("experiencer", "sentence", "report", "concept", "temporality", "negation"),
    ("Patient", "Patient denies CHEST PAIN.", "1", "chest pain", "Recent", "Negated"),  # TN-neg ok
    ("Patient", "No FEVER, chills, or night sweats.", "1", "fever", "Recent", "Negated"),
    ("Patient", "History of MYOCARDIAL INFARCTION.", "2", "myocardial infarction", "Historical", "Affirmed"),
    ("Patient", "Return if COUGH worsens.", "2", "cough", "Not particular", "Affirmed"),
    ("Other", "Mother with BREAST CANCER.", "3", "breast cancer", "Recent", "Affirmed"),
    # gold says Negated but nothing negates it: a false negative for negation
    ("Patient", "The patient has PNEUMONIA.", "3", "pneumonia", "Recent", "Negated"),
    # gold says Affirmed / Recent but the classifier will say negated + historical: false positives
    ("Patient", "No history of ASTHMA.", "4", "asthma", "Recent", "Affirmed"),
    # concept found case-insensitively (not upper-cased in the sentence)
    ("Patient", "Lungs clear, no wheezes.", "4", "wheezes", "Recent", "Negated"),
    # concept absent from the sentence: reported, not scored
    ("Patient", "Abdomen soft.", "5", "splenomegaly", "Recent", "Affirmed"),
]


def write_tsv(path: Path, rows) -> Path:
    path.write_text("\n".join("\t".join(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_find_concept():
    assert negex.find_concept("Denies CHEST PAIN.", "chest pain") == (7, 17)
    assert negex.find_concept("No CONGESTIVE HEART   FAILURE here", "congestive heart failure") == (3, 29)
    assert negex.find_concept("chest pain and CHEST PAIN", "CHEST PAIN") == (15, 25)  # exact case first
    # the kit marks its mention in upper case: that one, not an earlier mention in the concept's own case
    assert negex.find_concept("Hepatitis B panel: HEPATITIS B antigen negative", "Hepatitis B") == (19, 30)
    assert negex.find_concept("Stent placed. Left STENT patent.", "stent") == (19, 24)
    assert negex.find_concept("Stent placed.", "stent") == (0, 5)  # no upper-case mention: case-insensitive
    assert negex.find_concept("pH 7.2 and PH 7.3", "7.3") == (14, 17)  # no letters: the exact match
    assert negex.find_concept("No smoker ", "smoker ") == (3, 9)
    assert negex.find_concept("nothing here", "fever") is None


def test_prf():
    m = negex.prf([True, True, False, False], [True, False, True, False])
    assert m == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2, "tp": 1, "fp": 1, "fn": 1}
    assert negex.prf([False], [False])["f1"] == 0.0


def test_tiny_file_figures(tmp_path, capsys):
    tsv = write_tsv(tmp_path / "tiny.tsv", TINY)
    out = tmp_path / "out.json"
    assert negex.main([str(tsv), "--json-out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads(out.read_text())
    assert printed == saved
    assert saved["n"] == 9 and saved["n_scored"] == 8
    assert [r["concept"] for r in saved["not_found"]] == ["splenomegaly"]
    neg = saved["negation"]
    # gold negated: chest pain, fever, pneumonia, wheezes; predicted: chest pain, fever, asthma, wheezes
    assert (neg["tp"], neg["fp"], neg["fn"], neg["support"]) == (3, 1, 1, 4)
    assert neg["precision"] == 0.75 and neg["recall"] == 0.75 and neg["f1"] == 0.75
    hist = saved["historical"]
    # gold historical: MI; predicted: MI, asthma ("no history of") and the mother's breast cancer (family history)
    assert (hist["tp"], hist["fp"], hist["fn"]) == (1, 2, 0)
    assert hist["precision"] == 0.3333 and hist["recall"] == 1.0 and hist["f1"] == 0.5
    hyp = saved["hypothetical"]
    assert (hyp["tp"], hyp["fp"], hyp["fn"], hyp["f1"]) == (1, 0, 0, 1.0)
    exp = saved["experiencer"]
    assert (exp["tp"], exp["fp"], exp["fn"], exp["f1"]) == (1, 0, 0, 1.0)
    assert saved["elapsed_s"] >= 0 and saved["rules_version"]


def test_report_filter_and_bad_header(tmp_path, capsys):
    tsv = write_tsv(tmp_path / "tiny.tsv", TINY)
    res = negex.evaluate(tsv, reports=negex.parse_reports("1-2"))
    assert res["n"] == 4 and res["negation"]["support"] == 2 and res["negation"]["f1"] == 1.0
    assert negex.parse_reports("1-3,7") == {"1", "2", "3", "7"}
    bad = write_tsv(tmp_path / "bad.tsv", [("concept", "sentence"), ("x", "x")])
    assert negex.main([str(bad)]) == 2
    assert "lacks column" in capsys.readouterr().err


def test_cv_drops_a_rule_only_one_half_needs(tmp_path, capsys):
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"version": "cv-test", "rules": [
        {"id": "neg_no", "literal": "no", "category": "NEGATED_EXISTENCE", "direction": "FORWARD"},
        {"id": "neg_nix", "literal": "nix", "category": "NEGATED_EXISTENCE", "direction": "FORWARD"},
        {"id": "neg_general", "literal": "absent", "category": "NEGATED_EXISTENCE", "direction": "BACKWARD",
         "origin": "general", "source": "a published lexicon item"},
    ]}))
    head = ("report", "concept", "sentence", "negation", "temporality", "experiencer")
    rows = [head,
            ("1", "fever", "No FEVER.", "Negated", "Recent", "Patient"),
            ("1", "rash", "Nix RASH.", "Negated", "Recent", "Patient"),
            ("1", "cough", "COUGH absent.", "Negated", "Recent", "Patient"),
            ("2", "chills", "No CHILLS.", "Negated", "Recent", "Patient"),
            ("2", "edema", "EDEMA.", "Affirmed", "Recent", "Patient"),
            ("2", "pain", "PAIN absent.", "Negated", "Recent", "Patient")]
    tsv = write_tsv(tmp_path / "cv.tsv", rows)
    res = negex.cross_validate(tsv, rules, folds=("1", "2"))
    assert res["project_rules"] == 2
    assert res["in_sample"]["negation"]["fn"] == 0
    # tuned on report 2, "nix" never helps, so report 1's "Nix RASH" is missed; "no" is kept both ways
    assert [f["project_rules_kept"] for f in res["folds"]] == [1, 2]
    assert res["cross_validated"]["negation"]["fn"] == 1 and res["cross_validated"]["negation"]["tp"] == 4
    # the general rule is never tuned away
    assert res["general_lexicons_only"]["negation"]["tp"] == 2
    table = negex.format_cv(res).splitlines()
    row = next(line for line in table if line.startswith("negation")).split()
    assert row[1:3] == [f"{res['in_sample']['negation']['f1']:.3f}", f"{res['cross_validated']['negation']['f1']:.3f}"]
    assert "test 1 in/CV" in table[2] and "test 2 in/CV" in table[2]
    # each half: the shipped rules (in-sample) next to the rules tuned on the other half; "nix" costs report 1
    assert [f["in_sample"]["negation"]["fn"] for f in res["folds"]] == [0, 0]
    assert [f["figures"]["negation"]["fn"] for f in res["folds"]] == [1, 0]
    first = res["folds"][0]
    assert row[3] == f"{first['in_sample']['negation']['f1']:.3f}/{first['figures']['negation']['f1']:.3f}"
    assert negex.main([str(tsv), "--cv", "--rules", str(rules)]) == 2  # default folds 1-30/31-60: no rows
    out = capsys.readouterr()
    assert "no rows" in out.err
    errs = negex.cross_validate(tsv, rules, folds=("1", "2"), collect_errors=True)["errors"]
    assert [(e["test_reports"], e["concept"], e["wrong"]) for e in errs] == [("1", "RASH", ["negation"])]
    assert errs[0]["gold"]["negation"] and not errs[0]["pred"]["negation"] and errs[0]["triggers"] == []


def test_cv_errors_on_the_command_line(tmp_path, capsys):
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"version": "cv-test", "rules": [
        {"id": "neg_nix", "literal": "nix", "category": "NEGATED_EXISTENCE", "direction": "FORWARD"}]}))
    rows = [("report", "concept", "sentence", "negation", "temporality", "experiencer")]
    for n in range(1, 61):  # the default folds: reports 1-30 and 31-60
        rows.append((str(n), "rash", "Nix RASH." if n % 2 else "RASH.", "Negated" if n % 2 else "Affirmed",
                     "Recent", "Patient"))
    rows.append(("7", "cough", "Nix COUGH.", "Affirmed", "Historical", "Patient"))
    tsv = write_tsv(tmp_path / "cv.tsv", rows)
    assert negex.main([str(tsv), "--cv", "--rules", str(rules), "--errors", "historical"]) == 0
    out = capsys.readouterr()
    lines = [json.loads(x) for x in out.err.splitlines()]
    assert [(e["report"], e["concept"], e["wrong"]) for e in lines] == [("7", "COUGH", ["negation", "historical"])]
    assert "2-fold CV" in out.out
    assert negex.main([str(tsv), "--cv", "--rules", str(rules), "--errors"]) == 0
    assert len(capsys.readouterr().err.splitlines()) == 1
    with pytest.raises(SystemExit, match="--errors takes one of"):
        negex.main([str(tsv), "--cv", "--rules", str(rules), "--errors", "negated"])


def test_dev_file_targets():
    if not DEV.is_file():
        pytest.skip(f"{DEV} not present")
    res = negex.cross_validate(DEV)
    assert res["n_scored"] >= 1400
    cv, ins = res["cross_validated"], res["in_sample"]
    # figures of the committed rules (2-fold CV by report, project rules tuned on the other half): a guard
    # against regressions, at or a little under today's 0.990 / 0.871 / 0.949 (issue 16 asks 0.98 / 0.75 / 0.95;
    # hypothetical is one row short of it)
    assert cv["negation"]["f1"] >= 0.985, cv["negation"]
    assert cv["historical"]["f1"] >= 0.865, cv["historical"]
    assert cv["hypothetical"]["f1"] >= 0.945, cv["hypothetical"]
    # in-sample minus CV: the issue asks at most 3 points (historical 1.8, negation 0.5, hypothetical 0 today)
    for f in ("negation", "historical", "hypothetical"):
        assert ins[f]["f1"] - cv[f]["f1"] <= 0.03, (f, ins[f], cv[f])
    # each fold on its own, not only the pooled counts
    for fold in res["folds"]:
        assert fold["figures"]["negation"]["f1"] >= 0.98 and fold["figures"]["historical"]["f1"] >= 0.75, fold
